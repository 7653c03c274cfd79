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
	for _, p := range []string{keep, stale} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeStaleDownloads(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp download still there: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a finished output was removed: %v", err)
	}
	if err := removeStaleDownloads(filepath.Join(out, "missing")); err != nil {
		t.Errorf("a missing output dir is not an error, got %v", err)
	}
}
