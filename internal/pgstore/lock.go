package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// lockInfo is what xpflow_campaigns.locked_by records about the holder.
type lockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Runner  string    `json:"runner"`
	Started time.Time `json:"started"`
}

// Lock takes the campaign's runner lock: a shared session advisory lock,
// which every runner applying the campaign holds at once (the claims keep
// them apart, asset by asset), and which keeps out what needs the campaign
// alone (state push). Postgres drops it when the runner dies or loses its
// connection. Lock fails with a *state.LockedError only when the campaign
// is taken exclusively, naming that holder when it recorded itself.
func (s *Store) Lock() error {
	if s.lockConn != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.fail("locking the campaign", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock_shared(hashtextextended('xpflow campaign:' || $1, 0))", s.campaign).Scan(&got); err != nil {
		conn.Release()
		return s.fail("locking the campaign", err)
	}
	if !got {
		conn.Release()
		le := &state.LockedError{Path: s.where}
		var raw []byte
		if err := s.pool.QueryRow(ctx, "SELECT locked_by::text FROM xpflow_campaigns WHERE name = $1", s.campaign).Scan(&raw); err == nil && raw != nil {
			var li lockInfo
			if json.Unmarshal(raw, &li) == nil {
				le.PID, le.Host, le.Started = li.PID, li.Host, li.Started
			}
		}
		return le
	}
	s.lockConn = conn
	return nil
}

// Unlock releases the lock taken by Lock; without one it does nothing.
func (s *Store) Unlock() error {
	conn := s.lockConn
	if conn == nil {
		return nil
	}
	s.lockConn = nil
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
		conn.Conn().Close(ctx)
		return s.fail("unlocking the campaign", err)
	}
	return nil
}

// A Store describes itself, without secrets, in messages.
var _ fmt.Stringer = (*Store)(nil)
