package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/state"
)

func openTest(t *testing.T, conn, campaign, runner string) *Store {
	t.Helper()
	s, err := Open(context.Background(), conn, campaign, Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func cents(n int) *int { return &n }

func TestMigrateTwiceAndRefuseNewer(t *testing.T) {
	conn := pgtest.Database(t)
	a := openTest(t, conn, "c", "r1")
	openTest(t, conn, "c", "r2") // migrating again is a no-op
	ctx := context.Background()
	var versions []int
	rows, err := a.Pool().Query(ctx, "SELECT version FROM xpflow_schema_version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != SchemaVersion() || versions[len(versions)-1] != SchemaVersion() {
		t.Errorf("schema versions %v, want 1..%d once each", versions, SchemaVersion())
	}
	if _, err := a.Pool().Exec(ctx, "INSERT INTO xpflow_schema_version (version, name) VALUES ($1, 'future')", SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, conn, "c", Options{})
	if err == nil || !strings.Contains(err.Error(), "upgrade xpflow") {
		t.Errorf("Open on a newer schema: %v, want a refusal asking to upgrade xpflow", err)
	}
}

func TestPutSnapshotAndJournal(t *testing.T) {
	conn := pgtest.Database(t)
	s := openTest(t, conn, "spring", "runner-a")
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	img := &state.Asset{Address: "image.hero", Kind: "image", Model: "m", RequestHash: "h1",
		Request: map[string]any{"prompt": "p"}, Status: state.StatusIntent, IntentAt: at}
	steps := []*state.Asset{img}
	sub := img.Clone()
	sub.Status, sub.TaskID, sub.PollURL, sub.CostCents = state.StatusSubmitted, "t1", "/api/v1/image/t1", cents(4)
	done := sub.Clone()
	done.Status, done.Outputs = state.StatusCompleted, []state.Output{{URL: "https://cdn/x.png"}}
	dl := done.Clone()
	dl.Outputs[0].File, dl.Outputs[0].SHA256 = "out/x.png", "abc" // a download: same outcome
	steps = append(steps, sub, done, dl)
	for _, a := range steps {
		if _, err := s.Put(ctx, Change{Assets: map[string]*state.Asset{a.Address: a}}); err != nil {
			t.Fatal(err)
		}
	}
	bal := &state.Balance{Cents: 96, At: at}
	models := map[string]*state.ModelStats{"m": {Prices: map[string]*state.Price{"": {Cents: 4, Count: 1, At: at}}}}
	if _, err := s.Put(ctx, Change{Models: models, Balance: bal}); err != nil {
		t.Fatal(err)
	}
	got, err := openTest(t, conn, "spring", "reader").Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &state.State{Version: state.Version, Serial: 5, Lineage: got.Lineage,
		Assets: map[string]*state.Asset{"image.hero": dl}, Models: models, Balance: bal}
	// Requests decode with json.Number, as from a file.
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b map[string]any) bool { return fmt.Sprint(a) == fmt.Sprint(b) })); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if got.Lineage == "" {
		t.Error("no lineage")
	}
	j, err := s.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range j {
		if e.Runner != "runner-a" || e.Address != "image.hero" {
			t.Errorf("journal entry %+v: want runner-a on image.hero", e)
		}
		c := "-"
		if e.CostCents != nil {
			c = fmt.Sprint(*e.CostCents)
		}
		events = append(events, fmt.Sprintf("%s %s %s", e.Event, e.TaskID, c))
	}
	wantEvents := []string{"intent  -", "submitted t1 4", "completed t1 4"}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	// Removing writes a journal row and drops the asset.
	if _, err := s.Put(ctx, Change{Removed: []string{"image.hero"}}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Assets) != 0 {
		t.Errorf("after removal the state holds %v", st.Assets)
	}
	if j, _ = s.Journal(ctx); len(j) != 4 || j[3].Event != "removed" {
		t.Errorf("journal after removal: %+v", j)
	}
}

// TestIntentDurableBeforePutReturns: the write-ahead rule. What Put
// acknowledged is visible to any other connection at once.
func TestIntentDurableBeforePutReturns(t *testing.T) {
	conn := pgtest.Database(t)
	w := openTest(t, conn, "c", "w")
	r := openTest(t, conn, "c", "r")
	ctx := context.Background()
	a := &state.Asset{Address: "text.a", Kind: "text", RequestHash: "h", Status: state.StatusIntent}
	if _, err := w.Put(ctx, Change{Assets: map[string]*state.Asset{"text.a": a}}); err != nil {
		t.Fatal(err)
	}
	st, err := r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Assets["text.a"]; got == nil || got.Status != state.StatusIntent {
		t.Errorf("another runner sees %+v, want the intent", got)
	}
}

func TestPutRefusesBadRecords(t *testing.T) {
	s := openTest(t, pgtest.Database(t), "c", "w")
	bad := map[string]map[string]*state.Asset{
		"nil":       {"a": nil},
		"misfiled":  {"a": {Address: "b", Status: state.StatusIntent}},
		"no status": {"a": {Address: "a"}},
	}
	for name, assets := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Put(context.Background(), Change{Assets: assets}); err == nil {
				t.Error("Put accepted it")
			}
		})
	}
	st, err := s.Snapshot(context.Background())
	if err != nil || len(st.Assets) != 0 || st.Serial != 0 {
		t.Errorf("after refused puts: %+v, %v; want an untouched empty state", st, err)
	}
}

// TestSnapshotIsConsistent: a reader never sees half of a change, however
// the writer's transactions interleave with its reads.
func TestSnapshotIsConsistent(t *testing.T) {
	conn := pgtest.Database(t)
	w := openTest(t, conn, "c", "w")
	r := openTest(t, conn, "c", "r")
	ctx := context.Background()
	const n = 60
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			ch := Change{Assets: map[string]*state.Asset{}}
			for _, side := range []string{"a", "b"} {
				addr := fmt.Sprintf("text.%s%d", side, i)
				ch.Assets[addr] = &state.Asset{Address: addr, Kind: "text", RequestHash: "h", Status: state.StatusIntent}
			}
			if _, err := w.Put(ctx, ch); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for {
		st, err := r.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		if len(st.Assets) != int(2*st.Serial) {
			t.Fatalf("snapshot at serial %d holds %d assets, want %d", st.Serial, len(st.Assets), 2*st.Serial)
		}
		for i := range int(st.Serial) {
			if st.Assets[fmt.Sprintf("text.a%d", i)] == nil || st.Assets[fmt.Sprintf("text.b%d", i)] == nil {
				t.Fatalf("snapshot at serial %d lacks half of change %d", st.Serial, i)
			}
		}
		if st.Serial == n {
			break
		}
	}
	wg.Wait()
	t.Logf("%d snapshots", reads)
}

// TestRunnersShareTheLockPushDoesNot: runners lock a campaign together;
// a push, which needs it alone, is refused while any of them holds it.
func TestRunnersShareTheLockPushDoesNot(t *testing.T) {
	conn := pgtest.Database(t)
	a := openTest(t, conn, "c", "a")
	b := openTest(t, conn, "c", "b")
	pusher := openTest(t, conn, "c", "p")
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(); err != nil {
		t.Fatalf("a second runner's Lock: %v, want the lock shared", err)
	}
	st := state.New()
	st.Serial = 1
	st.Assets["text.x"] = &state.Asset{Address: "text.x", Kind: "text", RequestHash: "h", Status: state.StatusIntent}
	for _, holder := range []*Store{a, b} {
		err := pusher.Replace(context.Background(), st, true)
		if err == nil || !strings.Contains(err.Error(), "a runner is applying") {
			t.Errorf("push while runners hold the campaign: %v, want a refusal", err)
		}
		if err := holder.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	if err := pusher.Replace(context.Background(), st, true); err != nil {
		t.Errorf("push once the runners are gone: %v", err)
	}
}

func TestCampaignsAreSeparate(t *testing.T) {
	conn := pgtest.Database(t)
	a := openTest(t, conn, "a", "r")
	b := openTest(t, conn, "b", "r")
	ctx := context.Background()
	if _, err := a.Put(ctx, Change{Assets: map[string]*state.Asset{"text.x": {Address: "text.x", Kind: "text", RequestHash: "h", Status: state.StatusIntent}}}); err != nil {
		t.Fatal(err)
	}
	sa, _ := a.Snapshot(ctx)
	sb, err := b.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Assets) != 1 || len(sb.Assets) != 0 || sa.Lineage == sb.Lineage {
		t.Errorf("campaign a %+v, b %+v: want separate states with their own lineages", sa, sb)
	}
}
