package teams

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/state"
)

// journalBy summarises the campaign's journal: events per runner, and the
// takeovers.
func journalBy(t *testing.T, s *pgstore.Store) (perRunner map[string]int, takeovers []pgstore.Entry) {
	t.Helper()
	j, err := s.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perRunner = map[string]int{}
	for _, e := range j {
		switch e.Event {
		case "intent":
			perRunner[e.Runner]++
		case "takeover":
			takeovers = append(takeovers, e)
		}
	}
	return perRunner, takeovers
}

// TestThreeRunnersOneCampaign: three apply processes on three machines
// (directories) apply one 45-asset campaign (text -> image -> video) at
// once. Every asset is generated exactly once by the simulator's log, the
// work is shared, dependencies cross runners, every output is recorded
// with its sha256, and every machine ends with every file.
func TestThreeRunnersOneCampaign(t *testing.T) {
	run := startSim(t)
	tm := newTeam(t, 15)
	// A lease shorter than the videos' latency: runners must renew theirs,
	// or live tasks would be taken over.
	env := []string{"XPFLOW_CLAIM_LEASE=1500ms"}
	var procs []*proc
	var dirs []string
	for i := range 3 {
		dir := tm.machine()
		dirs = append(dirs, dir)
		procs = append(procs, tm.start(fmt.Sprintf("r%d", i+1), run.URL, apiKey, env,
			"apply", "-auto-approve", "-parallelism", "4", dir))
	}
	for _, p := range procs {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Errorf("runner %s exited %d\nstdout:\n%s\nstderr:\n%s", p.name, code, p.stdout, p.stderr)
		}
	}
	got := charged(run.Server.Log())
	want := map[string]int{}
	for _, a := range tm.addrs() {
		want[a] = 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("generates charged per asset (-want +got):\n%s", diff)
	}
	s := tm.store()
	st, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var notDone []string
	for _, a := range tm.addrs() {
		if r := st.Assets[a]; r == nil || r.Status != state.StatusCompleted {
			notDone = append(notDone, a)
		}
	}
	if len(notDone) > 0 {
		t.Errorf("not completed in the campaign: %v", notDone)
	}
	for _, dir := range dirs {
		if n := checkFiles(t, st, dir); n != 2*tm.n {
			t.Errorf("%s holds %d of the %d output files", dir, n, 2*tm.n)
		}
	}
	per, takeovers := journalBy(t, s)
	if len(takeovers) > 0 {
		t.Errorf("claims were taken over though no runner died (leases not renewed?): %+v", takeovers)
	}
	t.Logf("intents per runner: %v", per)
	if len(per) < 2 {
		t.Errorf("one runner did all the work: %v", per)
	}
}
