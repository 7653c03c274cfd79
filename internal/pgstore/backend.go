package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/xpflow/xpflow/internal/state"
)

// A Store is a state.Backend: state.OpenBackend(s.String(), s) gives the
// executor a state.Store whose every write is a committed transaction.
var _ state.Backend = (*Store)(nil)

// Load implements state.Backend: the campaign's snapshot. Nothing is
// pending: every appended record is already part of the rows.
func (s *Store) Load() (*state.State, int, error) {
	st, err := s.Snapshot(context.Background())
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	s.known = st.Serial
	s.mu.Unlock()
	return st, 0, nil
}

// Append implements state.Backend: r is committed, with its journal rows,
// before Append returns.
func (s *Store) Append(r *state.Record) error {
	if r.Lineage != s.lineage {
		return fmt.Errorf("%s: record %d belongs to state lineage %s, not the campaign's %s", s.where, r.Serial, r.Lineage, s.lineage)
	}
	_, err := s.Put(context.Background(), Change{Assets: r.Assets, Removed: r.Removed, Models: r.Models, Balance: r.Balance, Fenced: r.Fenced})
	return err
}

// Compact implements state.Backend: it makes the rows this runner knows
// hold st, writing only the records that differ, in one transaction.
// After Appends they already do; after a whole-state Update (state rm)
// the changed and removed assets are written. A row another runner wrote
// since this one loaded the campaign is newer than st's copy and is left
// alone: compaction never undoes another runner's work.
func (s *Store) Compact(st *state.State) error {
	if st.Lineage != s.lineage {
		return fmt.Errorf("%s: the state has lineage %s, not the campaign's %s", s.where, st.Lineage, s.lineage)
	}
	err := s.retry(context.Background(), func(ctx context.Context) error { return s.compact(ctx, st) })
	if err != nil {
		return s.fail("writing the state", err)
	}
	return nil
}

func (s *Store) compact(ctx context.Context, st *state.State) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT 1 FROM xpflow_campaigns WHERE name = $1 FOR UPDATE", s.campaign); err != nil {
			return err
		}
		cur, err := s.readState(ctx, tx)
		if err != nil {
			return err
		}
		ours, err := s.ownRows(ctx, tx)
		if err != nil {
			return err
		}
		ch := Change{Assets: map[string]*state.Asset{}, Models: st.Models, Balance: st.Balance}
		for addr, a := range st.Assets {
			if old, ok := cur.Assets[addr]; !ok || (ours[addr] && !sameRecord(old, a)) {
				ch.Assets[addr] = a
			}
		}
		for addr := range cur.Assets {
			if _, ok := st.Assets[addr]; !ok && ours[addr] {
				ch.Removed = append(ch.Removed, addr)
			}
		}
		serial, err := s.put(ctx, tx, ch)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if s.mine == nil {
			s.mine = map[uint64]bool{}
		}
		s.mine[serial] = true
		s.mu.Unlock()
		_, err = tx.Exec(ctx, "UPDATE xpflow_campaigns SET serial = greatest(serial, $2) WHERE name = $1", s.campaign, int64(st.Serial))
		return err
	})
}

// sameRecord reports whether two records encode alike.
func sameRecord(a, b *state.Asset) bool {
	x, err1 := jsonOf(a)
	y, err2 := jsonOf(b)
	return err1 == nil && err2 == nil && x == y
}

// ownRows returns the recorded addresses whose rows this store may
// rewrite: those last written at or before its Load, or by itself.
func (s *Store) ownRows(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	rows, err := tx.Query(ctx, "SELECT address, serial FROM xpflow_assets WHERE campaign = $1 AND record IS NOT NULL", s.campaign)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for rows.Next() {
		var addr string
		var serial int64
		if err := rows.Scan(&addr, &serial); err != nil {
			return nil, err
		}
		if uint64(serial) <= s.known || s.mine[uint64(serial)] {
			out[addr] = true
		}
	}
	return out, rows.Err()
}
