package window_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
)

func count429(log []sim.Request) int {
	n := 0
	for _, r := range log {
		if r.Status == 429 {
			n++
		}
	}
	return n
}

// TestTwoAppliesOneKey starts two applies of their own campaigns together,
// on one key, while an earlier run's requests still fill most of the
// window and leave it in two seconds: between them they need every slot
// the window will have, and no request meets a 429.
func TestTwoAppliesOneKey(t *testing.T) {
	r := newRig(t, 8)
	r.earlierRun(6, time.Now().Add(-58*time.Second))
	a := r.start("apply", "-auto-approve", campaign(t, "a", 3))
	b := r.start("apply", "-auto-approve", campaign(t, "b", 3))
	a.wait(t, 30*time.Second)
	b.wait(t, 30*time.Second)
	log := r.run.Server.Log()
	if n := count429(log); n != 0 {
		t.Errorf("%d answers of 429, want 0: %v", n, statuses(log))
	}
	if len(log) != 8 {
		t.Errorf("%d requests, want 8 (a catalog and 3 texts each): %v", len(log), statuses(log))
	}
}

// TestApplyRightAfterApply runs an apply that fills the window, then
// another at once: the second waits for the slots an earlier run frees
// instead of meeting a 429.
func TestApplyRightAfterApply(t *testing.T) {
	r := newRig(t, 6)
	r.earlierRun(2, time.Now().Add(-57*time.Second))
	r.start("apply", "-auto-approve", campaign(t, "a", 3)).wait(t, 30*time.Second)
	if log := r.run.Server.Log(); len(log) != 4 || count429(log) != 0 {
		t.Fatalf("first apply: %v, want 4 answers of 200", statuses(log))
	}
	r.start("apply", "-auto-approve", campaign(t, "b", 1)).wait(t, 30*time.Second)
	log := r.run.Server.Log()
	if n := count429(log); n != 0 || len(log) != 6 {
		t.Errorf("answers %v, want 6 answers and no 429", statuses(log))
	}
}

// TestUnseenClientClosesTheKey fills the simulator's window with requests
// xpflow never saw. The first apply meets one 429 and records its
// Retry-After; a second process started then waits too, and nobody sends
// before the key reopens.
func TestUnseenClientClosesTheKey(t *testing.T) {
	r := newRig(t, 4, sim.WithUnseenRequests(apiKey, 4, 57*time.Second))
	// The refused request keeps its slot in the client's own count (the
	// API does not say that a 429 takes none), so a's campaign is one text:
	// its refused catalog, the retry, the text and b's catalog fit in 4.
	a := r.start("apply", "-auto-approve", campaign(t, "a", 1))
	deadline := time.Now().Add(10 * time.Second)
	for count429(r.run.Server.Log()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("apply never met the 429: %v", statuses(r.run.Server.Log()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := r.start("models")
	a.wait(t, 20*time.Second)
	b.wait(t, 20*time.Second)
	log := r.run.Server.Log()
	if n := count429(log); n != 1 {
		t.Fatalf("%d answers of 429, want only the first: %v", n, statuses(log))
	}
	first := log[0]
	reopen := first.At.Add(3 * time.Second) // Retry-After of the 57 s old window
	for _, req := range log[1:] {
		if req.At.Before(reopen) {
			t.Errorf("%s %s sent %s after the 429, before its Retry-After of 3s", req.Method, req.Path, req.At.Sub(first.At))
		}
	}
	if len(log) != 4 {
		t.Errorf("%d requests, want 4 (the refused catalog, its retry, a text, b's catalog): %v", len(log), statuses(log))
	}
	if !strings.Contains(b.stderr.String(), "waiting: the API refused this key until") {
		t.Errorf("the second process did not say why it waited:\n%s", b.stderr)
	}
}

// TestKilledLockHolder kills -9 a process holding the ledger lock while an
// xpflow command waits for it: the command proceeds at once, with no
// warning that it gave up on the ledger.
func TestKilledLockHolder(t *testing.T) {
	r := newRig(t, 30)
	if err := os.MkdirAll(r.cache, 0o700); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), holdEnv+"="+r.lockPath())
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("holder: %q %v", line, err)
	}
	p := r.start("models")
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	p.wait(t, 30*time.Second)
	if strings.Contains(p.stderr.String(), "warning") {
		t.Errorf("models gave up on the ledger:\n%s", p.stderr)
	}
	if len(r.run.Server.Log()) != 1 {
		t.Errorf("requests = %v, want the catalog", statuses(r.run.Server.Log()))
	}
}
