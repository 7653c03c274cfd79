package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"

	"github.com/xpflow/xpflow/internal/state"
)

// Claimer lets several runners apply one campaign at once (the Postgres
// backend): before a runner spends anything on an asset, or takes over a
// task left in flight, it holds the asset's claim, which the Claimer keeps
// alive with a lease while the runner works. A runner that dies stops
// renewing its leases, and its claims pass to the others when they expire.
type Claimer interface {
	// Wait blocks until no other runner holds a live claim on addr, or ctx
	// ends, and returns the campaign's current record of addr (nil if none).
	Wait(ctx context.Context, addr string) (*state.Asset, error)
	// TryClaim takes addr's claim at once, if no other runner holds a live
	// one. ok is false when another does. rec is the campaign's record of
	// addr read under the claim: what this runner must build on.
	TryClaim(ctx context.Context, addr string) (rec *state.Asset, release func(), ok bool, err error)
}

// changed reports whether the campaign's record differs from the one the
// plan was made from: another runner worked on the asset since.
func changed(cur, prior *state.Asset) bool {
	if cur == nil || prior == nil {
		return cur != prior
	}
	x, err1 := json.Marshal(cur)
	y, err2 := json.Marshal(prior)
	return err1 != nil || err2 != nil || string(x) != string(y)
}

// claimFor takes nd's claim for this runner. Without a Claimer it returns
// at once with nothing to do. With one, it waits for other runners'
// claims, then takes the claim; slot, when not nil, is taken before the
// claim and given back while waiting, so a runner holds claims only on
// what it can start now. If another runner changed the record since the
// plan was made, adopted is true and res is the node's outcome from that
// record (done, failed, resumed by polling, or unknown); nd needs no more.
// Otherwise the caller proceeds as planned, and calls freeSlot when it no
// longer needs the slot and unclaim when the asset's outcome is recorded.
func (a *applier) claimFor(ctx context.Context, nd *node, slot func(context.Context) (func(), error)) (freeSlot, unclaim func(), adopted bool, res result, err error) {
	nop := func() {}
	c := a.opts.Claims
	if c == nil {
		if slot == nil {
			return nop, nop, false, result{}, nil
		}
		r, err := slot(ctx)
		if err != nil {
			return nil, nil, true, stopped(), nil
		}
		return r, nop, false, result{}, nil
	}
	for {
		cur, err := c.Wait(ctx, nd.addr)
		if err != nil {
			return a.claimError(ctx, nd, err)
		}
		if cur != nil && changed(cur, nd.n.Prior) && (cur.Status == state.StatusCompleted || cur.Status == state.StatusFailed) {
			res, err := a.adopt(ctx, nd, cur)
			return nil, nil, true, res, err
		}
		freeSlot := nop
		if slot != nil {
			if d, ok := a.reserve(); !ok {
				// Another runner may finish it meanwhile: look again.
				if !clock.Sleep(a.clock, d, ctx.Done()) {
					return nil, nil, true, stopped(), nil
				}
				continue
			}
			// The reservation counts until the submit is in the
			// limiter's window: the slot is freed right after the submit.
			var once sync.Once
			unreserve := func() { once.Do(func() { a.claimedUnsent.Add(-1) }) }
			s, err := slot(ctx)
			if err != nil {
				unreserve()
				return nil, nil, true, stopped(), nil
			}
			freeSlot = func() { unreserve(); s() }
		}
		rec, releaseClaim, ok, err := c.TryClaim(ctx, nd.addr)
		if err != nil {
			freeSlot()
			return a.claimError(ctx, nd, err)
		}
		if !ok {
			freeSlot() // another runner was quicker: wait for it again
			continue
		}
		if changed(rec, nd.n.Prior) {
			freeSlot()
			res, err := a.adopt(ctx, nd, rec)
			releaseClaim()
			return nil, nil, true, res, err
		}
		return freeSlot, releaseClaim, false, result{}, nil
	}
}

// windowBusy reports whether this runner's key has no room for another
// request, and how long to wait before looking again (until a slot frees,
// at most a second). The limiter's window counts, and so do the submits
// already claimed but not yet in the limiter (they are on their way to it).
// A runner with a busy window claims nothing more to submit: the asset
// goes to a runner whose key can send it now, and this one claims again as
// its window frees. Alone, a runner loses nothing by it: it could not send
// earlier anyway.
// reserve counts one more submit on its way to the limiter if the window
// has room for it, atomically with the check, so that concurrent nodes do
// not all see the same room. When there is none it returns how long to
// wait before looking again.
func (a *applier) reserve() (time.Duration, bool) {
	a.claimMu.Lock()
	defer a.claimMu.Unlock()
	if busy, d := a.windowBusy(); busy {
		return d, false
	}
	a.claimedUnsent.Add(1)
	return 0, true
}

func (a *applier) windowBusy() (bool, time.Duration) {
	per := a.sched.lim.PerMinute()
	if per <= 0 {
		return false, 0
	}
	st := a.sched.lim.Stats()
	now := a.clock.Now()
	until := st.NextLeave
	if st.PausedUntil.After(until) {
		until = st.PausedUntil
	}
	d := min(max(until.Sub(now), 50*time.Millisecond), time.Second)
	if now.Before(st.PausedUntil) {
		return true, d
	}
	return st.InWindow+max(st.Waiting, int(a.claimedUnsent.Load())) >= per, d
}

func stopped() result {
	return result{outcome: OutcomeSkipped, message: "not started: apply stopped"}
}

// claimError ends a node whose claim could not be taken: skipped when the
// run is stopping, else a failure that stops the run (the campaign's
// database is unreachable).
func (a *applier) claimError(ctx context.Context, nd *node, err error) (func(), func(), bool, result, error) {
	if ctx.Err() != nil {
		return nil, nil, true, stopped(), nil
	}
	msg := fmt.Sprintf("claiming %s: %v", nd.addr, err)
	a.emit(nd.addr, PhaseFailed, msg, nil)
	return nil, nil, true, result{outcome: OutcomeFailed, message: msg}, fmt.Errorf("claiming %s: %w", nd.addr, err)
}

// adopt carries nd from a record another runner left: a completed one is
// done here too (its files are downloaded into this runner's output
// directory), a failed one failed, a submitted one is resumed by polling
// its task (never resubmitted), and an intent without a task id is
// unknown, exactly as after a crash with the file state.
func (a *applier) adopt(ctx context.Context, nd *node, rec *state.Asset) (result, error) {
	rec = rec.Clone()
	nd.byOther = true
	switch rec.Status {
	case state.StatusCompleted:
		if len(rec.Outputs) == 0 {
			return a.done(nd, rec), nil // a text
		}
		a.emit(nd.addr, PhaseQueued, "generated by another runner; downloading", nil)
		return a.complete(ctx, nd, rec, outputURLs(rec))
	case state.StatusFailed:
		a.emit(nd.addr, PhaseFailed, rec.Error, nil)
		return result{outcome: OutcomeFailed, message: rec.Error}, nil
	case state.StatusSubmitted:
		if rec.PollURL != "" {
			a.emit(nd.addr, PhaseQueued, "taking over task "+rec.TaskID+" from a runner that stopped", nil)
			return a.track(ctx, nd, rec, rec.SubmittedAt, false)
		}
	}
	msg := "a runner that stopped may have sent its generate request (no task id was recorded), so it may have been charged; " +
		"xpflow will not resend it on its own. Check your xPilot balance, then run apply with -replace " + nd.addr + " to generate it again"
	a.emit(nd.addr, PhaseUnknown, msg, nil)
	return result{outcome: OutcomeUnknown, message: msg}, nil
}
