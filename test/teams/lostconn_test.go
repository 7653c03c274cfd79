package teams

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// TestLostConnection: the database stops for 10 s in the middle of an
// apply. The runner waits and reconnects (or stops with a clear error);
// nothing is lost, and the next apply finishes the campaign without paying
// for anything twice.
func TestLostConnection(t *testing.T) {
	cluster := pgtest.NewCluster(t)
	run := startSim(t, sim.WithLatency("video", 3*time.Second, 5*time.Second))
	tm := newTeamOn(t, 4, cluster.Conn)
	dir := tm.machine()
	p := tm.start("r1", run.URL, apiKey, nil, "apply", "-auto-approve", "-parallelism", "4", dir)
	s := tm.store()
	deadline := time.Now().Add(time.Minute)
	for len(inFlight(t, s, "r1")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no task in flight within a minute\nstderr:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Close()
	cluster.Stop()
	time.Sleep(10 * time.Second) // the outage the issue names
	cluster.Start()
	code := p.wait(t, 2*time.Minute)
	if code != 0 {
		// Stopping is allowed, with a clear error naming the database.
		if !strings.Contains(p.stderr.String(), "postgres database") {
			t.Errorf("apply exited %d without naming the database:\n%s", code, p.stderr)
		}
	}
	t.Logf("apply during the outage exited %d; stderr:\n%s", code, p.stderr)
	again := tm.start("r1", run.URL, apiKey, nil, "apply", "-auto-approve", dir)
	if c := again.wait(t, 2*time.Minute); c != 0 {
		t.Fatalf("the next apply exited %d:\n%s", c, again.stderr)
	}
	st, err := tm.store().Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, a := range tm.addrs() {
		want[a] = 1
		if r := st.Assets[a]; r == nil || r.Status != state.StatusCompleted {
			t.Errorf("%s ended as %+v, want completed", a, r)
		}
	}
	if diff := cmp.Diff(want, charged(run.Server.Log())); diff != "" {
		t.Errorf("generates charged per asset (-want +got):\n%s", diff)
	}
	checkFiles(t, st, dir)
}
