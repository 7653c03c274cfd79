//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// TestOutputReplacedByFIFOOrDevZero is the report: after an apply,
// the user (or a tool) leaves a FIFO or a symlink to /dev/zero where an
// output was. plan and apply used to hang hashing it, apply while holding
// the lock. Both must finish: plan wants the file downloaded again, apply
// downloads it without paying again.
func TestOutputReplacedByFIFOOrDevZero(t *testing.T) {
	for name, plant := range map[string]func(path string) error{
		"FIFO":                 func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"symlink to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
	} {
		t.Run(name, func(t *testing.T) {
			run, env := startSim(t)
			dir := copyDir(t, "testdata/quick")
			if got := (invocation{args: []string{"apply", "-auto-approve", dir}, env: env}).run(t); got.code != 0 {
				t.Fatalf("first apply exited %d:\n%s", got.code, got.stderr)
			}
			st, err := state.Load(filepath.Join(dir, "xpflow.state.json"))
			if err != nil {
				t.Fatal(err)
			}
			hero := st.Assets[`image.hero["aurora"]`]
			if hero == nil || len(hero.Outputs) != 1 {
				t.Fatalf("state after apply has no single output for image.hero[\"aurora\"]: %+v", hero)
			}
			path := filepath.Join(dir, filepath.FromSlash(hero.Outputs[0].File))
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := plant(path); err != nil {
				t.Fatal(err)
			}
			paid := generates(run)

			plan := runWithin(t, invocation{args: []string{"plan", dir}, env: env})
			if plan.code != 0 || !strings.Contains(plan.stdout, `image.hero["aurora"]`) {
				t.Errorf("plan exited %d and did not name the damaged output:\n%s\n%s", plan.code, plan.stdout, plan.stderr)
			}
			apply := runWithin(t, invocation{args: []string{"apply", "-auto-approve", dir}, env: env})
			if apply.code != 0 {
				t.Fatalf("apply exited %d:\n%s\n%s", apply.code, apply.stdout, apply.stderr)
			}
			if n := generates(run); n != paid {
				t.Errorf("apply sent %d more generate requests, want 0: a damaged file is downloaded again, not paid again", n-paid)
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() {
				t.Errorf("after apply, %s is %v (%v), want the downloaded regular file", path, fi.Mode(), err)
			}
		})
	}
}

// runWithin runs in and fails the test if it has not returned within 20 s.
func runWithin(t *testing.T, in invocation) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- in.run(t) }()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second): // a watchdog, not timing logic
		t.Fatalf("xpflow %s did not finish within 20 s: it hangs", strings.Join(in.args, " "))
		return result{}
	}
}
