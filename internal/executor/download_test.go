package executor_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

func TestOutputPathStaysInOutDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	long := strings.Repeat("k", 300)
	tests := map[string]struct {
		addr string
		i, n int
	}{
		"plain":          {addr: `image.hero["aurora"]`, n: 1},
		"no key":         {addr: `image.hero`, n: 1},
		"count index":    {addr: `image.hero[2]`, n: 1},
		"dot dot slash":  {addr: `image.hero["../x"]`, n: 1},
		"deep escape":    {addr: `image.hero["../../../../etc/passwd"]`, n: 1},
		"absolute":       {addr: `image.hero["/etc"]`, n: 1},
		"slash":          {addr: `image.hero["a/b"]`, n: 1},
		"backslash":      {addr: `image.hero["a\\b"]`, n: 1},
		"dot dot":        {addr: `image.hero[".."]`, n: 1},
		"dot":            {addr: `image.hero["."]`, n: 1},
		"empty":          {addr: `image.hero[""]`, n: 1},
		"unicode":        {addr: `image.hero["café☕"]`, n: 1},
		"very long":      {addr: `image.hero["` + long + `"]`, n: 1},
		"nul":            {addr: `image.hero["a\x00b"]`, n: 1},
		"second of many": {addr: `image.hero["../x"]`, i: 1, n: 3},
	}
	seen := map[string]string{}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := executor.OutputPath(out, tc.addr, tc.i, tc.n, ".png")
			rel, err := filepath.Rel(out, got)
			if err != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
				t.Errorf("OutputPath(%q) got %q, want a file inside %q", tc.addr, got, out)
			}
			if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) != 2 || parts[0] != "image.hero" {
				t.Errorf("OutputPath(%q) got %q, want <out>/image.hero/<one name>", tc.addr, rel)
			}
			if base := filepath.Base(got); len(base) > 100 {
				t.Errorf("OutputPath(%q) name is %d bytes long, want at most 100", tc.addr, len(base))
			}
			if again := executor.OutputPath(out, tc.addr, tc.i, tc.n, ".png"); again != got {
				t.Errorf("OutputPath(%q) is not stable: %q then %q", tc.addr, got, again)
			}
		})
		p := executor.OutputPath(out, tc.addr, tc.i, tc.n, ".png")
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s share the file %q", other, name, p)
		}
		seen[p] = name
	}
}

func TestOutputPathDistinctKeys(t *testing.T) {
	type file struct {
		key  string
		i, n int
	}
	// Keys that a careless sanitiser would fold together, and keys that
	// look like a derived name: a digest suffix or a multi-output suffix.
	var files []file
	for _, k := range []string{"a/b", "a_b", "a-b", "a b", "a.b", "A_B", "../a_b", "a//b", "", "_", "-",
		"output", "é", "e", "a-1", "a-2", "a_b-" + digest8("a/b"), "key-" + digest8("")} {
		files = append(files, file{key: k, n: 1})
	}
	files = append(files, file{key: "a", i: 0, n: 2}, file{key: "a", i: 1, n: 2})
	seen := map[string]file{}
	for _, f := range files {
		p := executor.OutputPath("/o", `image.x["`+f.key+`"]`, f.i, f.n, ".png")
		if prev, dup := seen[p]; dup {
			t.Errorf("%+v and %+v share the file %q", prev, f, p)
		}
		seen[p] = f
	}
}

// digest8 is the 8-hex-digit digest OutputPath gives a key.
func digest8(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

func TestDownloadFaults(t *testing.T) {
	tests := map[string]struct {
		faults sim.Faults
		want   string // in the failure message
	}{
		"CDN answers HTML": {faults: sim.Faults{CDNHTML: true}, want: `answered "text/html" instead of media`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, setup{sim: []sim.Option{sim.WithFaults(tc.faults)}})
			h.write(t, `
image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "Hero shot"
}
`)
			sum, _ := h.apply(t, run{})
			f := sum.Failed()
			if len(f) != 1 || f[0].Addr != "image.hero" {
				t.Fatalf("Failed() got %+v, want image.hero", f)
			}
			if !strings.Contains(f[0].Message, tc.want) {
				t.Errorf("message got %q, want it to contain %q", f[0].Message, tc.want)
			}
			if got := filesUnder(t, filepath.Join(h.dir, "out")); strings.Join(got, " ") != ".xpflow-lineage .xpflow.lock" {
				t.Errorf("files left in out/: %v, want only the lineage marker and the lock file", got)
			}
			// The paid generation is kept: its URL is recorded, no file.
			a := h.snapshot(t).Assets["image.hero"]
			if a == nil || a.Status != state.StatusCompleted || len(a.Outputs) != 1 || a.Outputs[0].URL == "" || a.Outputs[0].File != "" {
				t.Errorf("state got %+v, want completed with the URL and no file", a)
			}
			if diff := cmp.Diff(1, h.sim.Server.Counters().Generates); diff != "" {
				t.Errorf("generates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExpiredOutputURLSaysOneTrueThing: an expired CDN link used to say
// both "use -replace" and "apply again to retry the download", the summary
// counted the asset failed while the state recorded it completed, and
// every later plan offered a download that failed the same way. Now: one
// message (paid and recorded; the URL expired, the file cannot be fetched;
// what -replace costs), outcome "expired", the expiry recorded in the
// state, and later plans say "expired" while later applies leave the
// link alone and pay nothing.
func TestExpiredOutputURLSaysOneTrueThing(t *testing.T) {
	h := newHarness(t, setup{sim: []sim.Option{sim.WithFaults(sim.Faults{OutputExpiry: time.Nanosecond})}})
	h.write(t, `
image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "Hero shot"
}
`)
	sum, _ := h.apply(t, run{})
	if f := sum.Failed(); len(f) != 0 {
		t.Errorf("Failed() = %+v, want none: the generation did not fail", f)
	}
	e := sum.Expired()
	if len(e) != 1 || e[0].Addr != "image.hero" || sum.Counts()[executor.OutcomeExpired] != 1 || sum.OK() {
		t.Fatalf("Expired() = %+v, counts %v; want image.hero expired and the run not OK", e, sum.Counts())
	}
	a := h.snapshot(t).Assets["image.hero"]
	msg := e[0].Message
	for _, want := range []string{"paid and recorded", "task " + a.TaskID, "403", "expired", "cannot",
		"-replace 'image.hero'", fmt.Sprintf("$%d.%02d", *a.CostCents/100, *a.CostCents%100)} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "apply again") || strings.Contains(msg, "retry") {
		t.Errorf("message %q still suggests retrying, which cannot work", msg)
	}
	if a.Status != state.StatusCompleted || len(a.Outputs) != 1 || !a.Outputs[0].Expired || a.Outputs[0].URL == "" {
		t.Fatalf("state after the expiry: %+v, want completed with its URL recorded as expired", a)
	}

	cdn := h.sim.Server.Counters().CDN
	p := h.plan(t, run{})
	n, _ := p.Node("image.hero")
	if n == nil || n.Action != planner.ActionExpired || !strings.Contains(n.Reason, "-replace image.hero") || p.HasChanges() {
		t.Fatalf("plan after the expiry: %+v (changes: %v), want action expired naming -replace and no changes", n, p.HasChanges())
	}
	sum, _ = h.apply(t, run{})
	if !sum.OK() || len(sum.Expired()) != 0 || sum.Counts()[executor.OutcomeUnchanged] != 1 {
		t.Errorf("apply after the expiry: counts %v, want image.hero unchanged and the run OK: trying the link again cannot work", sum.Counts())
	}
	if got := h.sim.Server.Counters().CDN - cdn; got != 0 {
		t.Errorf("apply after the expiry asked the CDN %d times, want 0", got)
	}
	if diff := cmp.Diff(1, h.sim.Server.Counters().Generates); diff != "" {
		t.Errorf("generates (-want +got):\n%s", diff)
	}
}

// TestRedownloadCheckedAgainstRecordedSHA256: apply on a machine that
// lacks a recorded output downloads it again from its recorded URL, and
// accepts the bytes only if they hash to the recorded sha256. Bytes that
// do not are never recorded in its place: the record keeps its hash, the
// bytes are kept apart for inspection, and the failure names the asset
// and both hashes.
func TestRedownloadCheckedAgainstRecordedSHA256(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, `
image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "Hero shot"
}
`)
	h.apply(t, run{})
	first := h.snapshot(t).Assets["image.hero"].Outputs[0]
	served := urlSHA256(t, first.URL)
	if first.SHA256 != served || first.File == "" {
		t.Fatalf("first apply recorded %+v, want the file and sha256 %s", first, served)
	}
	file := filepath.Join(h.dir, filepath.FromSlash(first.File))

	// A lost file is downloaded again and accepted: the bytes match.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	sum, _ := h.apply(t, run{})
	if got := outcomes(sum)["image.hero"]; got != executor.OutcomeDone {
		t.Fatalf("re-download of matching bytes ended %q, want done", got)
	}
	if got := fileSHA256(t, file); got != served {
		t.Errorf("re-downloaded file has sha256 %s, want %s", got, served)
	}

	// The record says the paid output hashed otherwise: the bytes the CDN
	// serves now are not the ones recorded.
	paid := sha256.Sum256([]byte("the bytes that were paid for"))
	recorded := hex.EncodeToString(paid[:])
	h.editState(t, func(st *state.State) { st.Assets["image.hero"].Outputs[0].SHA256 = recorded })
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		sum, _, err := h.tryApply(t, run{})
		if err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
		f := sum.Failed()
		if len(f) != 1 || f[0].Addr != "image.hero" {
			t.Fatalf("apply %d: Failed() = %+v, want image.hero", i, f)
		}
		for _, want := range []string{"image.hero", recorded, served, "not accepted"} {
			if !strings.Contains(f[0].Message, want) {
				t.Errorf("apply %d: message %q does not say %q", i, f[0].Message, want)
			}
		}
		a := h.snapshot(t).Assets["image.hero"]
		if got := a.Outputs[0]; got.SHA256 != recorded || got.URL != first.URL {
			t.Errorf("apply %d: the record now holds %+v, want sha256 %s kept", i, got, recorded)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("apply %d: %s exists (%v): unchecked bytes under the output's name", i, first.File, err)
		}
		q := executor.QuarantinePath(file, served)
		if got := fileSHA256(t, q); got != served {
			t.Errorf("apply %d: quarantined file has sha256 %s, want %s", i, got, served)
		}
		if !strings.Contains(f[0].Message, filepath.ToSlash(strings.TrimPrefix(q, h.dir+string(filepath.Separator)))) {
			t.Errorf("apply %d: message %q does not name the quarantined file", i, f[0].Message)
		}
	}
	if diff := cmp.Diff(1, h.sim.Server.Counters().Generates); diff != "" {
		t.Errorf("generates (-want +got):\n%s", diff)
	}
}
