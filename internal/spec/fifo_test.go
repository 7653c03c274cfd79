//go:build unix

package spec

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// TestSpecFIFOsDoNotHang: a FIFO named like a spec, variables or
// template file used to block Load forever in open(2). Each is now an
// error naming it.
func TestSpecFIFOsDoNotHang(t *testing.T) {
	for name, tc := range map[string]struct {
		fifo    string
		opts    func(dir string) LoadOptions
		summary string
	}{
		"spec file":      {fifo: "b.xp.hcl", summary: "Cannot read spec file"},
		"variables file": {fifo: "v.hcl", opts: func(d string) LoadOptions { return LoadOptions{VarFiles: []string{filepath.Join(d, "v.hcl")}} }, summary: "Cannot read variables file"},
		"file()":         {fifo: "prompt.txt", summary: "Error in function call"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeSpec(t, map[string]string{"a.xp.hcl": "locals {\n  x = file(\"prompt.txt\")\n}\n"})
			if tc.fifo != "prompt.txt" {
				if err := os.WriteFile(filepath.Join(dir, "prompt.txt"), []byte("p"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := syscall.Mkfifo(filepath.Join(dir, tc.fifo), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := LoadOptions{}
			if tc.opts != nil {
				opts = tc.opts(dir)
			}
			done := make(chan hcl.Diagnostics, 1)
			go func() {
				_, diags := Load(dir, opts)
				done <- diags
			}()
			select {
			case diags := <-done:
				assertDiag(t, diags, tc.summary, tc.fifo)
			case <-time.After(10 * time.Second): // a watchdog, not timing logic
				t.Fatalf("Load did not return within 10 s: it blocks on the FIFO %s", tc.fifo)
			}
		})
	}
}
