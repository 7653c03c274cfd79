package pgstore

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xpflow/xpflow/internal/clock"
)

// ReconnectFor is how long an operation keeps trying while the database
// is unreachable (restarting, a network cut): long enough to ride out a
// restart, short enough that a database gone for good stops apply with an
// error instead of hanging it. Every operation retried is idempotent: a
// write that did commit before its connection broke writes the same rows
// again, without a second journal row.
const ReconnectFor = 60 * time.Second

// retry runs op, each attempt bounded by opTimeout, and runs it again
// while it fails for want of a connection, for at most ReconnectFor.
func (s *Store) retry(ctx context.Context, op func(ctx context.Context) error) error {
	start := s.clock.Now()
	wait := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, opTimeout)
		err := op(actx)
		cancel()
		if err == nil || !retryable(err) || ctx.Err() != nil || s.clock.Now().Sub(start) >= ReconnectFor {
			return err
		}
		if !clock.Sleep(s.clock, wait, ctx.Done()) {
			return err
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// retryable reports whether err means the database could not be reached
// or dropped the connection, rather than refusing the operation.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exceptions; 57P01-3: shutting down or starting up.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"conn closed", "broken pipe", "connection reset", "unexpected EOF", "failed to connect"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
