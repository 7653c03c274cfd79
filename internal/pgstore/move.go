package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/xpflow/xpflow/internal/state"
)

// ErrNewer is wrapped by Replace when the campaign holds newer data than
// the state that would replace it.
var ErrNewer = errors.New("refusing to overwrite newer data")

// Newer reports why dst must not be overwritten by src without force:
// dst holds assets of another lineage, or the same lineage at a later
// serial. It returns "" when src may replace dst.
func Newer(dst, src *state.State) string {
	switch {
	case len(dst.Assets) == 0 && dst.Serial == 0:
		return ""
	case dst.Lineage != src.Lineage && len(dst.Assets) > 0:
		return fmt.Sprintf("it holds %d assets of another state (lineage %s, not %s)", len(dst.Assets), dst.Lineage, src.Lineage)
	case dst.Lineage == src.Lineage && dst.Serial > src.Serial:
		return fmt.Sprintf("it is at serial %d, newer than serial %d", dst.Serial, src.Serial)
	}
	return ""
}

// Replace makes st the campaign's whole state, keeping its lineage and
// serial, in one transaction: a reader sees the old state or the new one.
// Unless force is set it refuses, wrapping ErrNewer, when the campaign
// holds newer data (see Newer). It also refuses while a runner holds the
// campaign's lock or a live claim. Each asset replaced gets a journal row
// "pushed".
func (s *Store) Replace(ctx context.Context, st *state.State, force bool) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("the state to push is invalid: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var free bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock(hashtextextended('xpflow campaign:' || $1, 0))", s.campaign).Scan(&free); err != nil {
			return err
		}
		var claims int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM xpflow_assets WHERE campaign = $1
			AND claimed_by IS NOT NULL AND lease_expires > now()`, s.campaign).Scan(&claims); err != nil {
			return err
		}
		if !free || claims > 0 {
			return errors.New("a runner is applying the campaign now; try again when it has finished")
		}
		if _, err := tx.Exec(ctx, "SELECT 1 FROM xpflow_campaigns WHERE name = $1 FOR UPDATE", s.campaign); err != nil {
			return err
		}
		cur, err := s.readState(ctx, tx)
		if err != nil {
			return err
		}
		if why := Newer(cur, st); why != "" && !force {
			return fmt.Errorf("%w: %s (use -force to overwrite)", ErrNewer, why)
		}
		return s.replace(ctx, tx, st)
	})
	if err != nil {
		return s.fail("replacing the state", err)
	}
	return nil
}

func (s *Store) replace(ctx context.Context, tx pgx.Tx, st *state.State) error {
	var models, balance *string
	if len(st.Models) > 0 {
		b, err := json.Marshal(st.Models)
		if err != nil {
			return err
		}
		models = ptr(string(b))
	}
	if st.Balance != nil {
		b, err := json.Marshal(st.Balance)
		if err != nil {
			return err
		}
		balance = ptr(string(b))
	}
	if _, err := tx.Exec(ctx, `UPDATE xpflow_campaigns SET lineage = $2, serial = $3, models = $4::json,
		balance = $5::json, updated_at = now() WHERE name = $1`, s.campaign, st.Lineage, int64(st.Serial), models, balance); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM xpflow_assets WHERE campaign = $1", s.campaign); err != nil {
		return err
	}
	for addr, a := range st.Assets {
		rec, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", addr, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO xpflow_assets (campaign, address, record, status, serial)
			VALUES ($1, $2, $3::json, $4, $5)`, s.campaign, addr, string(rec), string(a.Status), int64(st.Serial)); err != nil {
			return err
		}
		if err := s.journal(ctx, tx, addr, "pushed", a.TaskID, a.CostCents, st.Serial); err != nil {
			return err
		}
	}
	s.lineage = st.Lineage
	return nil
}

func ptr[T any](v T) *T { return &v }
