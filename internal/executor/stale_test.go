package executor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveStaleDownloads(t *testing.T) {
	out := t.TempDir()
	keep := filepath.Join(out, "image.hero", "a.png")
	stale := filepath.Join(out, "image.hero", tempPrefix+"123")
	// Not xpflow's to touch: another block's directory (not in this
	// plan), a subdirectory of a block, and the -simulate subtree.
	foreign := []string{
		filepath.Join(out, "image.other", tempPrefix+"1"),
		filepath.Join(out, "image.hero", "sub", tempPrefix+"2"),
		filepath.Join(out, ".simulate", "image.hero", tempPrefix+"3"),
	}
	for _, p := range append([]string{keep, stale}, foreign...) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeStaleDownloads(out, blockDirs([]string{`image.hero["a"]`, `image.hero["b"]`, "text.hook"})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp download still there: %v", err)
	}
	for _, p := range append([]string{keep}, foreign...) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if err := removeStaleDownloads(filepath.Join(out, "missing"), []string{"image.hero"}); err != nil {
		t.Errorf("a missing output dir is not an error, got %v", err)
	}
}

func TestBlockDirs(t *testing.T) {
	got := blockDirs([]string{`image.hero["a"]`, `image.hero[2]`, "text.hook", `video.spot["x"]`, "../x", "/"})
	want := []string{"image.hero", "text.hook", "video.spot"}
	if len(got) != len(want) {
		t.Fatalf("blockDirs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("blockDirs = %v, want %v", got, want)
		}
	}
}
