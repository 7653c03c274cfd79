//go:build unix

package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// TestFileIntactNeverHangs: a FIFO or a link to /dev/zero at a recorded
// output path used to hang plan and apply while hashing it. Each case runs
// under a watchdog; anything but the recorded regular file is not intact.
func TestFileIntactNeverHangs(t *testing.T) {
	content := []byte("a paid image")
	sum := sha256.Sum256(content)
	rec := state.Output{File: "out/image.hero/aurora.png", SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(content))}
	tests := map[string]struct {
		make func(t *testing.T, path string)
		out  state.Output
		want bool
	}{
		"the recorded file": {make: writeContent(content), out: rec, want: true},
		"sha256: prefix":    {make: writeContent(content), out: withSHA(rec, "sha256:"+rec.SHA256), want: true},
		"size unknown":      {make: writeContent(content), out: withBytes(rec, 0), want: true},
		"changed content":   {make: writeContent([]byte("a paid imagX")), out: rec, want: false},
		"longer file":       {make: writeContent(append(content, '!')), out: rec, want: false},
		"missing":           {make: func(*testing.T, string) {}, out: rec, want: false},
		"FIFO": {make: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: false},
		"FIFO, size unknown": {make: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, out: withBytes(rec, 0), want: false},
		"symlink to /dev/zero": {make: symlinkTo("/dev/zero"), out: withBytes(rec, 0), want: false},
		"symlink to the right content": {make: func(t *testing.T, p string) {
			writeContent(content)(t, p+".real")
			symlinkTo(p+".real")(t, p)
		}, out: rec, want: false},
		"directory": {make: func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, out: rec, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, filepath.FromSlash(tc.out.File))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			tc.make(t, path)
			done := make(chan bool, 1)
			go func() { done <- FileIntact(dir, tc.out) }()
			select {
			case got := <-done:
				if got != tc.want {
					t.Errorf("FileIntact = %t, want %t", got, tc.want)
				}
			case <-time.After(10 * time.Second): // a watchdog, not timing logic
				// Open the FIFO for writing so the stuck reader can end.
				if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatal("FileIntact did not return within 10 s: it hangs on this path")
			}
		})
	}
}

func writeContent(b []byte) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func symlinkTo(target string) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}

func withSHA(o state.Output, s string) state.Output  { o.SHA256 = s; return o }
func withBytes(o state.Output, n int64) state.Output { o.Bytes = n; return o }
