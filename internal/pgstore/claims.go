package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/state"
)

// DefaultLease is how long a claim lives without renewal: a runner that
// dies hands its claims over to the others this long after its last
// renewal. Renewals come every third of it.
const DefaultLease = 30 * time.Second

// Claimer hands out the claims of one campaign's assets to this runner,
// so several runners can apply the campaign at once (an
// executor.Claimer). A claim is the asset row's claimed_by and
// lease_expires, taken with SELECT ... FOR UPDATE SKIP LOCKED and renewed
// in the background while held. Lease times are the database's clock, so
// runners' clocks need not agree.
type Claimer struct {
	s     *Store
	lease time.Duration
	poll  time.Duration
	clock clock.Clock

	mu   sync.Mutex
	held map[string]bool // guarded by mu: the addresses this runner claims

	stop chan struct{}
	done chan struct{}
}

// Claimer starts the claims of this store's runner with the given lease
// (DefaultLease when zero). Waits re-read a busy claim every poll (a
// tenth of the lease, at most a second). Close stops the renewals and
// drops every claim still held.
func (s *Store) Claimer(lease time.Duration, clk clock.Clock) *Claimer {
	if lease <= 0 {
		lease = DefaultLease
	}
	if clk == nil {
		clk = clock.Real()
	}
	c := &Claimer{s: s, lease: lease, poll: min(lease/10, time.Second), clock: clk,
		held: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go c.renew()
	return c
}

// renew extends the leases of every held claim each third of a lease.
// A failed renewal is tried again at the next tick; if the database stays
// away for a whole lease, other runners may take the claims over, which
// is safe: a recorded task is resumed by polling, never resubmitted.
func (c *Claimer) renew() {
	defer close(c.done)
	for clock.Sleep(c.clock, c.lease/3, c.stop) {
		c.mu.Lock()
		n := len(c.held)
		c.mu.Unlock()
		if n == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.lease/3)
		_, _ = c.s.pool.Exec(ctx, `UPDATE xpflow_assets SET lease_expires = now() + make_interval(secs => $3)
			WHERE campaign = $1 AND claimed_by = $2`, c.s.campaign, c.s.runner, c.lease.Seconds())
		cancel()
	}
}

// Close stops renewing and releases the claims still held.
func (c *Claimer) Close() error {
	select {
	case <-c.stop:
		return nil
	default:
	}
	close(c.stop)
	<-c.done
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := c.s.pool.Exec(ctx, `UPDATE xpflow_assets SET claimed_by = NULL, lease_expires = NULL
		WHERE campaign = $1 AND claimed_by = $2`, c.s.campaign, c.s.runner)
	if err != nil {
		return c.s.fail("releasing claims", err)
	}
	return nil
}

// Wait blocks until no other runner holds a live claim on addr and
// returns the campaign's record of addr (nil when none).
func (c *Claimer) Wait(ctx context.Context, addr string) (*state.Asset, error) {
	for {
		rec, busy, err := c.peek(ctx, addr)
		if err != nil || !busy {
			return rec, err
		}
		if !clock.Sleep(c.clock, c.poll, ctx.Done()) {
			return nil, ctx.Err()
		}
	}
}

func (c *Claimer) peek(ctx context.Context, addr string) (*state.Asset, bool, error) {
	var raw []byte
	var busy bool
	err := c.s.retry(ctx, func(ctx context.Context) error {
		return c.s.pool.QueryRow(ctx, `SELECT record::text, coalesce(claimed_by <> $3 AND lease_expires > now(), false)
			FROM xpflow_assets WHERE campaign = $1 AND address = $2`, c.s.campaign, addr, c.s.runner).Scan(&raw, &busy)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.s.fail("reading the claim of "+addr, err)
	}
	rec, err := c.s.decodeAsset(addr, raw)
	return rec, busy, err
}

// TryClaim takes addr's claim unless another runner holds a live one (or
// is taking it at this instant). A claim whose lease expired is taken
// over, and the journal records the takeover.
func (c *Claimer) TryClaim(ctx context.Context, addr string) (*state.Asset, func(), bool, error) {
	var rec *state.Asset
	ok := false
	err := c.s.retry(ctx, func(ctx context.Context) error { ok = false; return c.tryClaim(ctx, addr, &rec, &ok) })
	if err != nil {
		return nil, nil, false, c.s.fail("claiming "+addr, err)
	}
	if !ok {
		return nil, nil, false, nil
	}
	c.mu.Lock()
	c.held[addr] = true
	c.mu.Unlock()
	var once sync.Once
	release := func() { once.Do(func() { c.release(addr) }) }
	return rec, release, true, nil
}

func (c *Claimer) tryClaim(ctx context.Context, addr string, rec **state.Asset, ok *bool) error {
	return pgx.BeginFunc(ctx, c.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO xpflow_assets (campaign, address, status, serial)
			VALUES ($1, $2, 'planned', 0) ON CONFLICT (campaign, address) DO NOTHING`, c.s.campaign, addr); err != nil {
			return err
		}
		var raw []byte
		var holder *string
		var live bool
		err := tx.QueryRow(ctx, `SELECT record::text, claimed_by, coalesce(lease_expires > now(), false)
			FROM xpflow_assets WHERE campaign = $1 AND address = $2 FOR UPDATE SKIP LOCKED`,
			c.s.campaign, addr).Scan(&raw, &holder, &live)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // locked by a runner claiming or writing it right now
		}
		if err != nil {
			return err
		}
		if holder != nil && *holder != c.s.runner && live {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE xpflow_assets SET claimed_by = $3, lease_expires = now() + make_interval(secs => $4)
			WHERE campaign = $1 AND address = $2`, c.s.campaign, addr, c.s.runner, c.lease.Seconds()); err != nil {
			return err
		}
		if holder != nil && *holder != c.s.runner {
			// Taking over an expired claim: say whose, in the journal.
			if _, err := tx.Exec(ctx, `INSERT INTO xpflow_journal (campaign, address, event, runner, task_id, serial)
				VALUES ($1, $2, 'takeover', $3, $4, 0)`, c.s.campaign, addr, c.s.runner, "from "+*holder); err != nil {
				return err
			}
		}
		r, err := c.s.decodeAsset(addr, raw)
		if err != nil {
			return err
		}
		*rec, *ok = r, true
		return nil
	})
}

// release drops the claim on addr. A failure is not fatal: the lease
// expires on its own.
func (c *Claimer) release(addr string) {
	c.mu.Lock()
	delete(c.held, addr)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, _ = c.s.pool.Exec(ctx, `UPDATE xpflow_assets SET claimed_by = NULL, lease_expires = NULL
		WHERE campaign = $1 AND address = $2 AND claimed_by = $3`, c.s.campaign, addr, c.s.runner)
}

// decodeAsset decodes one stored record strictly, as the file state
// would; nil raw (a planned row) is no record.
func (s *Store) decodeAsset(addr string, raw []byte) (*state.Asset, error) {
	if raw == nil {
		return nil, nil
	}
	doc, err := json.Marshal(map[string]any{"version": state.Version, "lineage": "x",
		"assets": map[string]json.RawMessage{addr: raw}})
	if err != nil {
		return nil, err
	}
	st, err := state.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("the stored record of %s does not read back: %w", addr, err)
	}
	return st.Assets[addr], nil
}
