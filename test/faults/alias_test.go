package faults_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSymlinkedStateTwoAppliesPayOnce is the report, run as a
// user would: spec/xpflow.state.json -> ../real/state.json, then
// `xpflow apply spec` and `xpflow apply -state real/state.json spec` at
// the same time. Both used to complete and every asset was paid twice.
// Now one of them is refused at once by the lock on the real file, and
// each asset is charged exactly once.
func TestSymlinkedStateTwoAppliesPayOnce(t *testing.T) {
	t.Parallel()
	g := guardSecrets(t)
	run := startSim(t)
	spec := newCampaignDir(t, 2)
	root := filepath.Dir(spec)
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "real", "state.json"), filepath.Join(spec, "xpflow.state.json")); err != nil {
		t.Fatal(err)
	}
	g.dir(spec)
	g.dir(real)
	a := startXpflow(t, g, run.URL, "apply", "-auto-approve", spec)
	b := startXpflow(t, g, run.URL, "apply", "-auto-approve", "-state", filepath.Join(spec, "..", "real", "state.json"), spec)
	codeA, codeB := a.wait(t, 2*time.Minute), b.wait(t, 2*time.Minute)
	if (codeA == 0) == (codeB == 0) {
		t.Fatalf("exit codes %d and %d, want exactly one apply refused\nA:\n%s\nB:\n%s", codeA, codeB, a.stderr, b.stderr)
	}
	refused := b.stderr.String()
	if codeA != 0 {
		refused = a.stderr.String()
	}
	if !strings.Contains(refused, "is locked by pid") {
		t.Errorf("the refused apply does not name the lock holder:\n%s", refused)
	}
	led := readLedger(run.Server.Log())
	if len(led.charged) != 6 {
		t.Errorf("%d assets charged, want the campaign's 6", len(led.charged))
	}
	for addr, reqs := range led.charged {
		if len(reqs) != 1 {
			t.Errorf("%s was charged %d times, want once", addr, len(reqs))
		}
	}
	fi, err := os.Lstat(filepath.Join(spec, "xpflow.state.json"))
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("spec/xpflow.state.json is no longer a symlink (%v): the state was split in two", err)
	}
	st := loadState(t, spec) // through the link; checks every file's sha256
	if len(st.Assets) != 6 {
		t.Errorf("state through the link has %d assets, want 6", len(st.Assets))
	}
}
