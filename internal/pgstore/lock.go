package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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

// Lock takes the campaign's writer lock at once or fails with a
// *state.LockedError naming the holder. The lock is a session advisory
// lock on a connection kept for it, so Postgres releases it when the
// holder dies or loses its connection.
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
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended('xpflow campaign:' || $1, 0))", s.campaign).Scan(&got); err != nil {
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
	host, _ := os.Hostname()
	info, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Runner: s.runner, Started: time.Now().UTC()})
	if _, err := conn.Exec(ctx, "UPDATE xpflow_campaigns SET locked_by = $2::json WHERE name = $1", s.campaign, string(info)); err != nil {
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock_all()")
		conn.Release()
		return s.fail("locking the campaign", err)
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
	if _, err := conn.Exec(ctx, "UPDATE xpflow_campaigns SET locked_by = NULL WHERE name = $1", s.campaign); err != nil {
		conn.Conn().Close(ctx) // closing the session releases the lock
		return s.fail("unlocking the campaign", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
		conn.Conn().Close(ctx)
		return s.fail("unlocking the campaign", err)
	}
	return nil
}

// A Store describes itself, without secrets, in messages.
var _ fmt.Stringer = (*Store)(nil)
