package faults_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// products is the size of the kill campaign: 3 assets each.
const products = 10

// maxKillDelay bounds the random time an apply runs before SIGKILL. It is a
// little over the executor's 3 s minimum poll interval, so some kills land
// on polls and video downloads, not only on submits.
const maxKillDelay = 4 * time.Second

// TestKillAtRandomPoints SIGKILLs apply at random moments of a 30-asset
// campaign, re-applying after each kill, then applies to completion. After
// every kill the state must parse, no asset may have been paid for twice
// (except a POST whose answer a kill lost, which -replace regenerates), no
// charged task may be forgotten and every recorded file must match its
// sha256.
func TestKillAtRandomPoints(t *testing.T) {
	t.Parallel()
	kills := 20
	if os.Getenv(longEnv) == "1" {
		kills = 200
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("XPFLOW_FAULTS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("XPFLOW_FAULTS_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("kill seed %d (rerun with XPFLOW_FAULTS_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := guardSecrets(t)

	// A clean run, alongside, gives the address set to compare with.
	cleanSim := startSim(t)
	cleanDir := newCampaignDir(t, products)
	g.dir(cleanDir)
	clean := startXpflow(t, g, cleanSim.URL, "apply", "-auto-approve", cleanDir)

	var leftovers []string
	journaled := 0
	for round := 1; kills > 0 && !t.Failed(); round++ {
		// Rounds alternate between the default of 16 requests on the wire
		// and 2, so the per-request bound on unknown outcomes is checked
		// where it is loose and where it is tight.
		parallelism := 16
		if round%2 == 0 {
			parallelism = 2
		}
		done, withJournal, left := killRound(t, g, rng, kills, parallelism)
		t.Logf("round %d (-parallelism %d): %d kills, %d of them left a state journal to replay", round, parallelism, done, withJournal)
		kills -= done
		journaled += withJournal
		leftovers = append(leftovers, left...)
	}

	if code := clean.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("clean apply exited %d\nstdout:\n%s\nstderr:\n%s", code, clean.stdout, clean.stderr)
	}
	if diff := cmp.Diff(wantAddrs(products), addrs(loadState(t, cleanDir))); diff != "" {
		t.Errorf("clean run's addresses (-want +got):\n%s", diff)
	}
	// Apply appends to the journal and compacts at its end: a campaign
	// whose kills never left a journal would not test its replay.
	if journaled == 0 && !t.Failed() {
		t.Errorf("no kill left a state journal (%s): the campaign never tested loading a journal after a crash",
			filepath.Base(state.JournalPath("xpflow.state.json")))
	}
	if len(leftovers) > 0 {
		t.Errorf("SIGKILL during a download left temp files that the next apply did not remove: %v "+
			"(apply must sweep .xpflow-download-* under its output directory while holding the lock)", leftovers)
	}
}

// killRound kills apply on a fresh campaign and its own simulator, up to
// kills times or until an apply completes the campaign before its kill,
// then applies to completion and checks the end state. It returns how many
// kills landed, how many of them left a state journal for the next apply
// to replay, and the download temp files left after the final apply.
//
// Every apply runs with -parallelism parallelism. After each kill, the
// assets whose outcome is unknown (an intent without an answer) must be at
// most parallelism: the write-ahead rule is per request, so each request on
// the wire may leave one.
func killRound(t *testing.T, g *secretGuard, rng *rand.Rand, kills, parallelism int) (int, int, []string) {
	t.Helper()
	run := startSim(t)
	dir := newCampaignDir(t, products)
	g.dir(dir)
	allowed := map[string]int{}
	for _, a := range wantAddrs(products) {
		allowed[a] = 1
	}
	killed, journaled, failedInARow := 0, 0, 0
	par := []string{"-parallelism", strconv.Itoa(parallelism)}
	for i := 0; killed < kills; i++ {
		args := append([]string{"apply", "-auto-approve"}, par...)
		args = append(args, replaceUnknown(t, g, run, dir, allowed, parallelism)...)
		p := startXpflow(t, g, run.URL, append(args, dir)...)
		ended := false
		select {
		case <-p.done:
			ended = true
		case <-time.After(time.Duration(rng.Int64N(int64(maxKillDelay)))):
			p.kill()
			killed++
			if fi, err := os.Stat(state.JournalPath(filepath.Join(dir, "xpflow.state.json"))); err == nil && fi.Size() > 0 {
				journaled++
			}
		}
		checkAfterKill(t, run, dir, allowed)
		if t.Failed() {
			t.Fatalf("after apply %d (ended on its own: %v); stdout:\n%s\nstderr:\n%s", i+1, ended, p.stdout, p.stderr)
		}
		if ended && p.cmd.ProcessState.ExitCode() == 0 {
			break // the campaign is complete: more kills here would test nothing
		}
		// An apply that ends on its own with an error would otherwise make
		// this loop spin without ever landing a kill.
		if ended {
			failedInARow++
		} else {
			failedInARow = 0
		}
		if failedInARow >= 3 {
			t.Fatalf("apply %d ended on its own with exit %d three times in a row; stdout:\n%s\nstderr:\n%s",
				i+1, p.cmd.ProcessState.ExitCode(), p.stdout, p.stderr)
		}
	}
	finalStart := time.Now()
	for attempt := 1; ; attempt++ {
		args := append([]string{"apply", "-auto-approve"}, par...)
		args = append(args, replaceUnknown(t, g, run, dir, allowed, parallelism)...)
		p := startXpflow(t, g, run.URL, append(args, dir)...)
		code := p.wait(t, 2*time.Minute)
		if code == 0 {
			break
		}
		if attempt == 2 {
			t.Fatalf("final apply exited %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
		}
	}
	t.Logf("final apply took %s", time.Since(finalStart).Round(time.Millisecond))
	st := checkAfterKill(t, run, dir, allowed)
	if diff := cmp.Diff(wantAddrs(products), addrs(st)); diff != "" {
		t.Errorf("final addresses against a clean run's (-want +got):\n%s", diff)
	}
	for addr, a := range st.Assets {
		if a.Status != state.StatusCompleted {
			t.Errorf("%s: final status %q, want completed", addr, a.Status)
		}
	}
	for addr, act := range planActions(t, g, run.URL, dir) {
		if act != "noop" {
			t.Errorf("%s: plan after the final apply says %q, want noop", addr, act)
		}
	}
	var extra []string
	for addr, n := range allowed {
		if n > 1 {
			extra = append(extra, addr+"×"+strconv.Itoa(n))
		}
	}
	sort.Strings(extra)
	t.Logf("allowed regenerations after unknown outcomes: %v", extra)
	return killed, journaled, tempFiles(t, dir)
}

// replaceUnknown finds the assets the plan calls "unknown" (a generate POST
// whose answer was never recorded) and returns -replace flags for them. A
// regeneration is allowed only when the simulator log shows the earlier
// POST was charged and no answer reached the state; a POST that never
// reached the server costs nothing, so replacing it pays once. More
// unknowns than requests on the wire (parallelism) is an error.
func replaceUnknown(t *testing.T, g *secretGuard, run *sim.Running, dir string, allowed map[string]int, parallelism int) []string {
	t.Helper()
	actions := planActions(t, g, run.URL, dir)
	st := loadState(t, dir)
	led := readLedger(run.Server.Log())
	var addrs []string
	for addr, act := range actions {
		if act != "unknown" {
			continue
		}
		if a := st.Assets[addr]; a == nil || a.Status != state.StatusIntent || a.TaskID != "" {
			t.Errorf("%s: plan says unknown, state holds %+v; want an intent without a task id", addr, a)
		}
		if n := len(led.charged[addr]); n >= allowed[addr] {
			allowed[addr] = n + 1
		}
		addrs = append(addrs, addr)
	}
	if len(addrs) > parallelism {
		t.Errorf("%d assets have an unknown outcome after a kill at -parallelism %d (%v): the bound is one per request on the wire",
			len(addrs), parallelism, addrs)
	}
	// Sort the addresses, not the flags: sorting "-replace" pairs as one
	// list separates each flag from its value.
	sort.Strings(addrs)
	var args []string
	for _, addr := range addrs {
		args = append(args, "-replace", addr)
	}
	return args
}

// checkAfterKill checks the invariants that must hold whenever apply has
// stopped, however it stopped, and returns the state.
func checkAfterKill(t *testing.T, run *sim.Running, dir string, allowed map[string]int) *state.State {
	t.Helper()
	st := loadState(t, dir)
	led := readLedger(run.Server.Log())
	for addr, reqs := range led.charged {
		if len(reqs) > allowed[addr] {
			ids := make([]string, len(reqs))
			for i, r := range reqs {
				ids[i] = r.TaskID
			}
			t.Errorf("%s was generated %d times (tasks %v), allowed %d: paid twice", addr, len(reqs), ids, allowed[addr])
		}
	}
	for addr, a := range st.Assets {
		if a.TaskID == "" {
			continue
		}
		reqs := led.charged[addr]
		if len(reqs) == 0 || reqs[len(reqs)-1].TaskID != a.TaskID {
			t.Errorf("%s: state records task %s, but the last charged generate for it is %v: a paid task was lost",
				addr, a.TaskID, lastTask(reqs))
		}
	}
	return st
}

func lastTask(reqs []sim.Request) string {
	if len(reqs) == 0 {
		return "none"
	}
	return reqs[len(reqs)-1].TaskID
}
