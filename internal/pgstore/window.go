package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/xpflow/xpflow/internal/window"
)

// WindowStore is the request window ledger of one API key in Postgres, a
// window.Store shared by every runner using the key on any machine. The
// row is keyed by a hash of the base URL and the key (window.Name), never
// the key, and read and written under a transaction-level advisory lock on
// that hash, so two runners' updates never interleave; the lock goes with
// the transaction, also when a runner dies.
type WindowStore struct {
	s       *Store
	keyHash string
	warn    func(string)
}

var _ window.Store = (*WindowStore)(nil)

// Window returns the ledger of the key for baseURL in the store's
// database. warn receives a line when a stored ledger is unreadable and
// is started again empty, as the file ledger does.
func (s *Store) Window(baseURL, key string, warn func(string)) *WindowStore {
	name := strings.TrimSuffix(strings.TrimPrefix(window.Name(baseURL, key), "window-"), ".json")
	if warn == nil {
		warn = func(string) {}
	}
	return &WindowStore{s: s, keyHash: name, warn: warn}
}

// Where names the table row, without the key.
func (w *WindowStore) Where() string {
	return fmt.Sprintf("%s, table xpflow_windows, key hash %s", w.s.where, w.keyHash)
}

// Update implements window.Store. It waits at most window.LockTimeout for
// the lock and the database.
func (w *WindowStore) Update(ctx context.Context, fn func(*window.Ledger) bool) error {
	ctx, cancel := context.WithTimeout(ctx, window.LockTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, w.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('xpflow window:' || $1, 0))", w.keyHash); err != nil {
			return err
		}
		var raw []byte
		err := tx.QueryRow(ctx, "SELECT ledger::text FROM xpflow_windows WHERE key_hash = $1", w.keyHash).Scan(&raw)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		l, derr := window.Decode(raw)
		if derr != nil {
			w.warn(fmt.Sprintf("warning: the request window ledger in %s is unreadable (%v); starting it again empty", w.Where(), derr))
		}
		if !fn(&l) && derr == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO xpflow_windows (key_hash, ledger, updated_at) VALUES ($1, $2::json, now())
			ON CONFLICT (key_hash) DO UPDATE SET ledger = excluded.ledger, updated_at = now()`,
			w.keyHash, strings.TrimSpace(string(l.Encode())))
		return err
	})
	if err != nil {
		return fmt.Errorf("window: %w", w.s.fail("updating the request window", err))
	}
	return nil
}
