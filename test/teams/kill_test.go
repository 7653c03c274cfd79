package teams

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// inFlight returns the addresses whose last journal event is a
// "submitted" by runner: tasks it is following right now.
func inFlight(t *testing.T, s *pgstore.Store, runner string) []string {
	t.Helper()
	j, err := s.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]pgstore.Entry{}
	for _, e := range j {
		last[e.Address] = e
	}
	var out []string
	for a, e := range last {
		if e.Event == "submitted" && e.Runner == runner {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// TestKilledRunner: kill -9 one of three runners while it has video tasks
// in flight. When its leases expire the others take its claims over,
// resume its recorded tasks by polling, and finish the campaign; no asset
// is paid twice. An intent it left without a task id stays unknown.
func TestKilledRunner(t *testing.T) {
	run := startSim(t, sim.WithLatency("video", 4*time.Second, 6*time.Second))
	tm := newTeam(t, 9)
	s := tm.store()
	env := []string{"XPFLOW_CLAIM_LEASE=2s"}
	var procs []*proc
	for i := range 3 {
		procs = append(procs, tm.start(fmt.Sprintf("r%d", i+1), run.URL, apiKey, env,
			"apply", "-auto-approve", "-parallelism", "4", tm.machine()))
	}
	// The victim is the first runner seen with two video tasks in flight.
	var victim *proc
	var flying []string
	deadline := time.Now().Add(time.Minute)
	for victim == nil {
		if time.Now().After(deadline) {
			t.Fatal("no runner had two tasks in flight within a minute")
		}
		time.Sleep(50 * time.Millisecond)
		for _, p := range procs {
			if f := inFlight(t, s, p.name); len(f) >= 2 {
				victim, flying = p, f
				break
			}
		}
	}
	_ = victim.cmd.Process.Kill()
	<-victim.done
	if victim.cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("runner %s ended by itself before it could be killed", victim.name)
	}
	flying = inFlight(t, s, victim.name) // what it had recorded when it died
	t.Logf("killed %s with tasks %v in flight", victim.name, flying)

	codes := map[string]int{}
	for _, p := range procs {
		if p != victim {
			codes[p.name] = p.wait(t, 2*time.Minute)
		}
	}
	st, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	paid := charged(run.Server.Log())
	var unknown []string
	blocked := map[string]bool{} // products with an unknown asset
	// In dependency order, so an unknown input is seen before its users.
	for _, block := range []string{"text.hook", "image.hero", "video.spot"} {
		for i := 1; i <= tm.n; i++ {
			product := fmt.Sprintf(`["p%02d"]`, i)
			a := block + product
			if paid[a] > 1 {
				t.Errorf("%s was paid %d times", a, paid[a])
			}
			rec := st.Assets[a]
			switch {
			case rec != nil && rec.Status == state.StatusCompleted:
			case rec != nil && rec.Status == state.StatusIntent && rec.TaskID == "":
				unknown = append(unknown, a) // the victim died between its intent and the answer
				blocked[product] = true
			case rec == nil && blocked[product]:
				// Not started: its input is unknown until someone decides.
			default:
				t.Errorf("%s ended as %+v, want completed (or an intent the victim left, unknown)", a, rec)
			}
		}
	}
	for _, a := range flying {
		if rec := st.Assets[a]; rec == nil || rec.Status != state.StatusCompleted || paid[a] != 1 {
			t.Errorf("%s, in flight in the victim when it died, ended as %+v paid %d times; want it resumed and completed, paid once", a, rec, paid[a])
		}
	}
	_, takeovers := journalBy(t, s)
	if len(takeovers) == 0 {
		t.Error("the journal records no takeover of the victim's claims")
	}
	for name, code := range codes {
		if len(unknown) == 0 && code != 0 {
			t.Errorf("runner %s exited %d though nothing was unknown", name, code)
		}
	}
	t.Logf("unknown: %v; exit codes %v; takeovers %d", unknown, codes, len(takeovers))
	checkFiles(t, st, t.TempDir()) // every output recorded with its sha256
}
