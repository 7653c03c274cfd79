//go:build unix

package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
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

// TestSimulateNeverTouchesPaidOutputs is the report: apply with a
// real key, then apply -simulate on the same directory, replaced
// out/image.hero/... (a paid image) with a simulator placeholder, and the
// real plan then wanted to download it again. Simulated outputs now go to
// out/simulate/, and each state keeps its own files.
func TestSimulateNeverTouchesPaidOutputs(t *testing.T) {
	run, env := startSim(t)
	dir := copyDir(t, "testdata/quick")
	if got := (invocation{args: []string{"apply", "-auto-approve", dir}, env: env}).run(t); got.code != 0 {
		t.Fatalf("real apply exited %d:\n%s", got.code, got.stderr)
	}
	before := fileDigests(t, dir, "xpflow.state.json")
	paid := generates(run)
	if got := (invocation{args: []string{"apply", "-simulate", "-auto-approve", dir}}).run(t); got.code != 0 {
		t.Fatalf("apply -simulate exited %d:\n%s", got.code, got.stderr)
	}
	if after := fileDigests(t, dir, "xpflow.state.json"); !maps.Equal(before, after) {
		t.Errorf("apply -simulate changed the paid outputs: before %v, after %v", before, after)
	}
	for file := range fileDigests(t, dir, "xpflow.simulate.state.json") {
		if !strings.HasPrefix(file, "out/simulate/") {
			t.Errorf("simulated output %s is outside out/simulate/", file)
		}
	}
	plan := invocation{args: []string{"plan", dir}, env: env}.run(t)
	if plan.code != 0 || !strings.Contains(plan.stdout, "No changes") {
		t.Errorf("real plan after apply -simulate: exit %d, want no changes\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}
	if n := generates(run); n != paid {
		t.Errorf("%d more paid generations, want none", n-paid)
	}
}

// fileDigests maps each output file the state in dir/name records to the
// sha256 of its bytes on disk.
func fileDigests(t *testing.T, dir, name string) map[string]string {
	t.Helper()
	st, err := state.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range st.Assets {
		for _, o := range a.Outputs {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(o.File)))
			if err != nil {
				t.Fatalf("%s: %v", o.File, err)
			}
			sum := sha256.Sum256(b)
			out[o.File] = hex.EncodeToString(sum[:])
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s records no output files", name)
	}
	return out
}
