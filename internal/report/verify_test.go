package report

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/state"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestVerifyFile checks every way the file at a recorded path can differ
// from the download, including paths that would hang or never end if
// they were read: a FIFO and a link to /dev/zero.
func TestVerifyFile(t *testing.T) {
	content := []byte("the generated image")
	rec := state.Output{File: "x", SHA256: digest(content), Bytes: int64(len(content))}
	tests := map[string]struct {
		setup func(t *testing.T, path string)
		out   state.Output
		want  string
	}{
		"intact": {setup: write(content), out: rec, want: fileOK},
		"intact with sha256: prefix": {setup: write(content),
			out: state.Output{File: "x", SHA256: "sha256:" + rec.SHA256, Bytes: rec.Bytes}, want: fileOK},
		"missing":          {setup: func(*testing.T, string) {}, out: rec, want: fileMissing},
		"same size edited": {setup: write([]byte("the generated imagE")), out: rec, want: fileChanged},
		"truncated":        {setup: write(content[:5]), out: rec, want: fileChanged},
		"grown":            {setup: write(append(append([]byte{}, content...), "!!"...)), out: rec, want: fileChanged},
		"no digest":        {setup: write(content), out: state.Output{File: "x", Bytes: rec.Bytes}, want: fileUnverified},
		"directory": {setup: func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: fileNotRegular},
		// A link is not the downloaded file, even to the right bytes: the
		// planner's check agrees, and apply downloads it again.
		"symlink to an intact copy": {setup: func(t *testing.T, p string) {
			write(content)(t, p+".copy")
			if err := os.Symlink(filepath.Base(p)+".copy", p); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: fileNotRegular},
		"dangling symlink": {setup: func(t *testing.T, p string) {
			if err := os.Symlink("nowhere", p); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: fileNotRegular},
	}
	if runtime.GOOS != "windows" {
		tests["fifo"] = struct {
			setup func(t *testing.T, path string)
			out   state.Output
			want  string
		}{setup: func(t *testing.T, p string) {
			if err := Mkfifo(p); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: fileNotRegular}
		tests["symlink to /dev/zero"] = struct {
			setup func(t *testing.T, path string)
			out   state.Output
			want  string
		}{setup: func(t *testing.T, p string) {
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: fileNotRegular}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x")
			tc.setup(t, path)
			got := make(chan [2]string, 1)
			go func() {
				c, why := verifyFile(path, tc.out)
				got <- [2]string{c, why}
			}()
			select {
			case g := <-got:
				if g[0] != tc.want {
					t.Errorf("verifyFile: got %q (%s), want %q", g[0], g[1], tc.want)
				}
				if (g[0] == fileOK) != (g[1] == "") {
					t.Errorf("verifyFile: got check %q with reason %q; want a reason exactly when not ok", g[0], g[1])
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("verifyFile hung on %s", name)
			}
		})
	}
}

func write(b []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteMarksChangedFiles renders the fixture from a copy whose image
// was edited and whose video was removed: neither may be linked, and each
// card says why.
func TestWriteMarksChangedFiles(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "out", "image.hero", "a b#1.png")
	if err := os.MkdirAll(filepath.Dir(img), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, []byte("fixture image A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	page, d := render(t, loadFixture(t), Options{BaseDir: filepath.Join(dir, "out"), SpecDir: dir})
	got := map[string][]file{}
	for _, c := range d.Cards {
		if len(c.Files) > 0 && c.Files[0].Path != "" {
			got[c.Address] = c.Files
		}
	}
	want := map[string][]file{
		`image.hero["a"]`: {{URL: "https://cdn.example/1.png", Path: "out/image.hero/a b#1.png", Name: "a b#1.png", Type: "image",
			Size: "16 B", Check: fileChanged,
			Why: "its sha256 is 8a7efcced454…, but the downloaded file's was 545ecb1d5c20…"}},
		`video.spot["a"]`: {{URL: "https://cdn.example/1.mp4", Path: "out/video.spot/a.mp4", Name: "a.mp4", Type: "video",
			Size: "16 B", Check: fileMissing, Why: "the file is missing"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"assets": "8", "completed": "4", "submitted": "1", "pending": "1",
		"skipped": "1", "failed": "1", "actual-cents": "491", "balance-cents": "12",
		"files-changed": "1", "files-missing": "1", "files-not-downloaded": "1"}, parseTotals(page)); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	for _, s := range []string{`<span class="l">files changed</span>`, `<span class="l">files missing</span>`} {
		if !strings.Contains(page, s) {
			t.Errorf("page: got no %q tile, want one", s)
		}
	}
}

// TestWriteTakes gives the fixture's video an earlier take whose file is
// intact and one whose file was edited: the card lists both, oldest first,
// links only the intact one, and the totals count what both cost.
func TestWriteTakes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"out/image.hero/a b#1.png", "out/video.spot/a.mp4"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, f))
		if err != nil {
			t.Fatal(err)
		}
		write(b)(t, mkdirs(t, filepath.Join(dir, f)))
	}
	first, second := []byte("first take"), []byte("second take")
	write(first)(t, mkdirs(t, filepath.Join(dir, "out/video.spot/a.11111111.mp4")))
	write([]byte("second takE"))(t, filepath.Join(dir, "out/video.spot/a.22222222.mp4"))
	st := loadFixture(t)
	c1, c2 := 300, 480
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	st.Assets[`video.spot["a"]`].Takes = []state.Take{
		{RequestHash: "sha256:t1", Request: map[string]any{"prompt": "First try."}, TaskID: "vid_1", CostCents: &c1, CompletedAt: at,
			Outputs: []state.Output{{URL: "https://cdn.example/t1.mp4", File: "out/video.spot/a.11111111.mp4", SHA256: digest(first), Bytes: int64(len(first))}}},
		{RequestHash: "sha256:t2", TaskID: "vid_2", CostCents: &c2,
			Outputs: []state.Output{{URL: "https://cdn.example/t2.mp4", File: "out/video.spot/a.22222222.mp4", SHA256: digest(second), Bytes: int64(len(second))}}},
	}
	page, d := render(t, st, Options{BaseDir: filepath.Join(dir, "out"), SpecDir: dir})
	var got []take
	var takesCents int
	for _, c := range d.Cards {
		if c.Address == `video.spot["a"]` {
			got, takesCents = c.Takes, c.TakesCents
		}
	}
	for i := range got {
		for j := range got[i].Files {
			got[i].Files[j].Why = ""
		}
	}
	want := []take{
		{N: 1, Prompt: "First try.", CostCents: &c1, TaskID: "vid_1", At: "2026-01-01 10:00 UTC",
			Files: []file{{URL: "https://cdn.example/t1.mp4", Path: "out/video.spot/a.11111111.mp4", Src: "./video.spot/a.11111111.mp4",
				Name: "a.11111111.mp4", Type: "video", Size: "10 B", Check: fileOK}}},
		{N: 2, CostCents: &c2, TaskID: "vid_2",
			Files: []file{{URL: "https://cdn.example/t2.mp4", Path: "out/video.spot/a.22222222.mp4",
				Name: "a.22222222.mp4", Type: "video", Size: "11 B", Check: fileChanged}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("takes (-want +got):\n%s", diff)
	}
	if takesCents != 780 {
		t.Errorf("cost of earlier takes: got %d, want 780", takesCents)
	}
	totals := parseTotals(page)
	if got, want := totals["actual-cents"], "1271"; got != want {
		t.Errorf("spent: got %s, want %s (491 of current takes + 780 of earlier ones)", got, want)
	}
	if got, want := totals["files-changed"], "1"; got != want {
		t.Errorf("changed files: got %s, want %s (the edited earlier take)", got, want)
	}
}

func mkdirs(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWriteLinksOnlyCheckedFiles gives each output of one asset another
// check result: only the intact file gets a src.
func TestWriteLinksOnlyCheckedFiles(t *testing.T) {
	dir := t.TempDir()
	good, other := []byte("good"), []byte("other")
	write(good)(t, mkdirs(t, filepath.Join(dir, "out", "ok.png")))
	write(good)(t, filepath.Join(dir, "out", "nodigest.png"))
	write(other)(t, filepath.Join(dir, "out", "changed.png"))
	st := state.New()
	st.Assets["image.x"] = &state.Asset{Address: "image.x", Kind: "image", Status: state.StatusCompleted, Outputs: []state.Output{
		{File: "out/ok.png", SHA256: digest(good), Bytes: 4},
		{File: "out/nodigest.png", Bytes: 4},
		{File: "out/changed.png", SHA256: digest(good), Bytes: 5},
		{File: "out/gone.png", SHA256: digest(good), Bytes: 4},
	}}
	_, d := render(t, st, Options{BaseDir: dir, SpecDir: dir})
	var got []string
	for _, f := range d.Cards[0].Files {
		got = append(got, f.Check+" "+f.Src)
	}
	want := []string{"ok ./out/ok.png", "unverified ", "changed ", "missing "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
