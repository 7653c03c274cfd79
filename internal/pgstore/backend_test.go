package pgstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/state"
)

// TestStateStoreOnPostgres drives a state.Store over the Postgres backend
// as apply and state rm do, and reads the campaign back from a fresh
// connection: it holds exactly what the store holds.
func TestStateStoreOnPostgres(t *testing.T) {
	conn := pgtest.Database(t)
	pg := openTest(t, conn, "c", "runner-1")
	store, err := state.OpenBackend(pg.String(), pg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		addr := fmt.Sprintf("text.t%d", i)
		err := store.Edit([]string{addr}, func(st *state.State) error {
			st.Assets[addr] = &state.Asset{Address: addr, Kind: "text", RequestHash: "h", Status: state.StatusIntent}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = store.Edit([]string{addr}, func(st *state.State) error {
			a := st.Assets[addr]
			a.Status, a.Content, a.CostCents = state.StatusCompleted, "hello", cents(1)
			st.Balance = &state.Balance{Cents: 100 - i}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Update(func(st *state.State) error { delete(st.Assets, "text.t0"); return nil }); err != nil {
		t.Fatal(err)
	}
	other := openTest(t, conn, "c", "runner-2")
	want := store.Snapshot()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := openTest(t, conn, "c", "reader").Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("campaign differs from the store (-store +campaign):\n%s", diff)
	}
	if len(got.Assets) != 4 || got.Balance.Cents != 96 {
		t.Errorf("campaign holds %d assets, balance %v; want 4 and 96", len(got.Assets), got.Balance)
	}
	j, err := pg.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 11 || j[10].Event != "removed" || j[10].Address != "text.t0" {
		t.Errorf("journal has %d entries ending %+v, want 10 outcomes then the removal of text.t0", len(j), j[len(j)-1])
	}
	// Reopened, the store starts from the campaign.
	again, err := state.OpenBackend(other.String(), other)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if diff := cmp.Diff(want, again.Snapshot()); diff != "" {
		t.Errorf("reopened store (-want +got):\n%s", diff)
	}
}

// TestCompactKeepsOtherRunnersWork: a runner's whole-state write (state
// rm, a periodic compaction) holds only what it loaded and wrote; rows
// another runner wrote since are newer, and stay.
func TestCompactKeepsOtherRunnersWork(t *testing.T) {
	conn := pgtest.Database(t)
	a := openTest(t, conn, "c", "a")
	b := openTest(t, conn, "c", "b")
	mk := func(addr string) *state.Asset {
		return &state.Asset{Address: addr, Kind: "text", RequestHash: "h", Status: state.StatusIntent}
	}
	if _, err := a.Put(context.Background(), Change{Assets: map[string]*state.Asset{"text.old": mk("text.old")}}); err != nil {
		t.Fatal(err)
	}
	storeA, err := state.OpenBackend(a.String(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer storeA.Close()
	if _, err := b.Put(context.Background(), Change{Assets: map[string]*state.Asset{"text.new": mk("text.new")}}); err != nil {
		t.Fatal(err)
	}
	if err := storeA.Update(func(st *state.State) error { delete(st.Assets, "text.old"); return nil }); err != nil {
		t.Fatal(err)
	}
	st, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Assets["text.old"] != nil || st.Assets["text.new"] == nil {
		t.Errorf("after a's rm of text.old the campaign holds %v; want text.old gone and b's text.new kept", st.Assets)
	}
}
