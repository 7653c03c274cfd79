package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHostileSpecFilesNeverCrashAnyCommand: 100,000 nested "[" overflowed
// the parser's stack (a fatal error no recover catches) and a FIFO named
// like a spec file blocked its read forever. Every command that reads the
// spec, fmt included, must refuse both with a diagnostic naming the file,
// run from inside the directory the way a user types it.
func TestHostileSpecFilesNeverCrashAnyCommand(t *testing.T) {
	deep := "locals {\n  x = " + strings.Repeat("[", 100000) + "1" + strings.Repeat("]", 100000) + "\n}\n"
	cases := map[string]struct {
		make func(t *testing.T, path string)
		want string
	}{
		"100,000 nested brackets": {
			make: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte(deep), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: "on deep.xp.hcl line 2:",
		},
		"a FIFO named like a spec file": {
			make: func(t *testing.T, path string) {
				if err := syscall.Mkfifo(path, 0o644); err != nil {
					t.Skipf("mkfifo: %v", err) // no FIFOs on this system: nothing to hang on
				}
			},
			want: "deep.xp.hcl is not a regular file",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root, env := workspace(t, quickCampaign)
			dir := filepath.Join(root, "campaign")
			tc.make(t, filepath.Join(dir, "deep.xp.hcl"))
			u := userRun{dir: dir, env: env}
			for _, args := range [][]string{
				{"fmt"},
				{"fmt", "-check"},
				{"fmt", "deep.xp.hcl"},
				{"validate"},
				{"plan", "-simulate"},
			} {
				r := u.run(t, args...)
				if r.code != 1 {
					t.Errorf("xpflow %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("xpflow %s: stderr does not name the place (%q):\n%s", strings.Join(args, " "), tc.want, r.stderr)
				}
			}
		})
	}
}
