package executor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/state"
)

// openRunner opens campaign "c" of the database conn as runner; it is
// closed when the test ends.
func openRunner(t *testing.T, conn, runner string) *pgstore.Store {
	t.Helper()
	pg, err := pgstore.Open(context.Background(), conn, "c", pgstore.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	return pg
}

// openCampaign is openRunner with the state store apply would use on it.
func openCampaign(t *testing.T, conn, runner string) (*pgstore.Store, *state.Store) {
	t.Helper()
	pg := openRunner(t, conn, runner)
	store, err := state.OpenBackend(pg.String(), pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return pg, store
}

// lapsingClaimer is runner A's real Postgres Claimer, except that right
// after A claims lapseAddr its lease lapses (as after a database outage
// longer than the lease, or a stalled process) and runner B takes the
// claim over, before A writes its intent.
type lapsingClaimer struct {
	t         *testing.T
	a         *pgstore.Claimer
	b         *pgstore.Claimer
	pg        *pgstore.Store
	lapseAddr string
	tookOver  bool
}

func (c *lapsingClaimer) Wait(ctx context.Context, addr string) (*state.Asset, error) {
	return c.a.Wait(ctx, addr)
}

func (c *lapsingClaimer) TryClaim(ctx context.Context, addr string) (*state.Asset, func(), bool, error) {
	rec, release, ok, err := c.a.TryClaim(ctx, addr)
	if !ok || err != nil || addr != c.lapseAddr {
		return rec, release, ok, err
	}
	if _, err := c.pg.Pool().Exec(ctx, `UPDATE xpflow_assets SET lease_expires = now() - interval '1 second'
		WHERE address = $1`, addr); err != nil {
		c.t.Fatal(err)
	}
	_, _, bOK, err := c.b.TryClaim(ctx, addr)
	if err != nil || !bOK {
		c.t.Fatalf("runner B taking over %s: ok %v, %v", addr, bOK, err)
	}
	c.tookOver = true
	return rec, release, ok, err
}

// TestClaimLostBeforeIntentSendsNothing: a runner whose claim lapsed and
// was taken over by another runner between its claim and its intent write
// (never pay twice) has its intent refused by the database, sends no
// generate request for that asset, leaves it to the other runner, and
// goes on with the rest of the campaign on a store that still works.
func TestClaimLostBeforeIntentSendsNothing(t *testing.T) {
	conn := pgtest.Database(t)
	h := newHarness(t, setup{})
	h.write(t, `
text "lost" {
  prompt = "taken over"
}
text "kept" {
  prompt = "still mine"
}
`)
	ctx := context.Background()
	pgA, store := openCampaign(t, conn, "runner-a")
	pgB := openRunner(t, conn, "runner-b")
	ca, cb := pgA.Claimer(time.Minute, nil), pgB.Claimer(time.Minute, nil)
	defer ca.Close()
	defer cb.Close()
	c := &lapsingClaimer{t: t, a: ca, b: cb, pg: pgA, lapseAddr: "text.lost"}

	mark := h.mark()
	p := h.planWith(t, store.Snapshot(), run{})
	sum, err := executor.Run(ctx, p, executor.Options{Client: h.client, Store: store, Clock: h.clock, Claims: c})
	if err != nil {
		t.Fatal(err)
	}
	if !c.tookOver {
		t.Fatal("runner B never took text.lost over: the test did not test anything")
	}
	if diff := cmp.Diff(map[string]int{"still mine": 1}, generates(t, h.since(mark), 0)); diff != "" {
		t.Errorf("generate requests sent by runner A (-want +got):\n%s", diff)
	}
	want := map[string]executor.Outcome{"text.lost": executor.OutcomeSkipped, "text.kept": executor.OutcomeDone}
	if diff := cmp.Diff(want, outcomes(sum)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	for _, a := range sum.Assets {
		if a.Addr == "text.lost" && !strings.Contains(a.Message, "runner-b") {
			t.Errorf("text.lost ends with %q, want it to name the runner that holds it (runner-b)", a.Message)
		}
	}
	// The database holds no intent of A's for it, and B's claim stands.
	journal, err := pgA.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range journal {
		if e.Address == "text.lost" && e.Event != "takeover" {
			t.Errorf("journal row %+v for text.lost: runner A's write went through", e)
		}
	}
	var holder string
	if err := pgA.Pool().QueryRow(ctx, "SELECT claimed_by FROM xpflow_assets WHERE address = 'text.lost'").Scan(&holder); err != nil {
		t.Fatal(err)
	}
	if holder != "runner-b" {
		t.Errorf("text.lost is claimed by %q, want runner-b", holder)
	}
	if a := store.Snapshot().Assets["text.lost"]; a != nil {
		t.Errorf("runner A's state holds %+v for text.lost, want nothing", a)
	}
}

// TestFencedEditRefusedWithoutClaim: a fenced write is committed only
// while this runner holds a live claim on every asset it writes; a refusal
// wraps state.ErrClaimLost, changes nothing, and leaves the store usable.
func TestFencedEditRefusedWithoutClaim(t *testing.T) {
	conn := pgtest.Database(t)
	ctx := context.Background()
	pg, store := openCampaign(t, conn, "runner-a")
	cl := pg.Claimer(time.Minute, nil)
	defer cl.Close()
	intent := func(addr string) func(*state.State) error {
		return func(st *state.State) error {
			st.Assets[addr] = &state.Asset{Address: addr, Kind: "text", RequestHash: "h", Status: state.StatusIntent}
			return nil
		}
	}
	// Never claimed: refused.
	if err := store.EditFenced([]string{"text.a"}, intent("text.a")); !errors.Is(err, state.ErrClaimLost) {
		t.Fatalf("fenced write without a claim: %v, want state.ErrClaimLost", err)
	}
	// Claimed: committed.
	if _, _, ok, err := cl.TryClaim(ctx, "text.a"); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := store.EditFenced([]string{"text.a"}, intent("text.a")); err != nil {
		t.Fatalf("fenced write under a live claim: %v", err)
	}
	// The lease lapsed: refused even though nobody took it over.
	if _, _, ok, err := cl.TryClaim(ctx, "text.b"); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := pg.Pool().Exec(ctx, "UPDATE xpflow_assets SET lease_expires = now() - interval '1 second' WHERE address = 'text.b'"); err != nil {
		t.Fatal(err)
	}
	if err := store.EditFenced([]string{"text.b"}, intent("text.b")); !errors.Is(err, state.ErrClaimLost) {
		t.Fatalf("fenced write after the lease lapsed: %v, want state.ErrClaimLost", err)
	}
	// The store still works, and holds exactly what was committed.
	if err := store.Edit([]string{"text.c"}, intent("text.c")); err != nil {
		t.Fatalf("write after a refusal: %v", err)
	}
	snap, err := pg.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*state.State{"in memory": store.Snapshot(), "in the database": snap} {
		got := []string{}
		for addr := range st.Assets {
			got = append(got, addr)
		}
		if diff := cmp.Diff([]string{"text.a", "text.c"}, got, cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
			t.Errorf("assets %s (-want +got):\n%s", name, diff)
		}
	}
}
