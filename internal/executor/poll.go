package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// maxPollFailures is how many polls in a row may fail (after the client's
// own retries) before the asset is reported failed. Its task stays recorded
// as submitted, so the next apply resumes it.
const maxPollFailures = 3

// track polls a submitted task when the scheduler says so, until it ends,
// the run stops, or polling keeps failing. fresh is false for a task
// resumed from an earlier run.
func (a *applier) track(ctx context.Context, nd *node, rec *state.Asset, submittedAt time.Time, fresh bool) (result, error) {
	n := nd.n
	key := keyFor(n.Kind, rec)
	var last time.Time
	if !fresh {
		// A resumed task may have been polled by the run before this one
		// just before it stopped: count this run's start as a poll, so the
		// 3 s spacing holds across runs too.
		last = a.start
	}
	t := a.sched.track(n.Kind, rec.Model, key, submittedAt, a.dependents[n.Addr] > 0, last)
	a.sched.named(t, nd)
	defer a.sched.untrack(t)
	a.emit(n.Addr, PhasePolling, rec.TaskID, nil)
	generating := result{outcome: OutcomeGenerating, message: "still generating as task " + rec.TaskID + "; apply again to resume"}
	failures := 0
	for {
		k, ok := a.sched.next(ctx, a.stopCh, t)
		if !ok {
			return generating, nil
		}
		var sent time.Time
		task, err := a.opts.Client.Poll(ctx, rec.PollURL, xpilot.Call{Priority: k.prio,
			Sent: func(at time.Time) { sent = at; a.sched.sent(t) }})
		a.sched.polled(t, sent, a.clock.Now(), err == nil && task.Status == xpilot.StatusProcessing)
		if err != nil {
			var apiErr *xpilot.APIError
			if errors.As(err, &apiErr) && apiErr.Status == 401 {
				a.emit(n.Addr, PhaseFailed, ErrUnauthorized.Error(), nil)
				return result{outcome: OutcomeFailed, message: ErrUnauthorized.Error()}, ErrUnauthorized
			}
			if ctx.Err() != nil {
				return generating, nil
			}
			if failures++; failures >= maxPollFailures {
				msg := fmt.Sprintf("polling task %s failed: %v; it stays recorded, apply again to resume", rec.TaskID, err)
				if errors.As(err, &apiErr) && apiErr.Status == 404 {
					// Resuming will meet the same 404: say the way out.
					msg = fmt.Sprintf("the API does not know task %s (404): it stays recorded; if it still answers 404, generate it again with -replace '%s' (the lost generation may have been charged)", rec.TaskID, n.Addr)
				}
				a.emit(n.Addr, PhaseFailed, msg, nil)
				return result{outcome: OutcomeFailed, message: msg}, nil
			}
			continue
		}
		failures = 0
		if task.Redacted && !slices.Contains(rec.Redacted, state.RedactedAnswer) {
			rec.Redacted = append(rec.Redacted, state.RedactedAnswer)
		}
		switch task.Status {
		case xpilot.StatusCompleted:
			// Processing when last seen, done when this poll actually went
			// out: the latency lies in between, whatever the poll waited. A
			// resumed task never seen processing by this run may have been
			// done for hours: it teaches nothing.
			lo, hi := a.sched.knownAge(t), seconds(sent.Sub(submittedAt))
			if (!fresh && lo == 0) || sent.IsZero() {
				return a.complete(ctx, nd, rec, task.Outputs)
			}
			a.lat.Observe(rec.Model, key, lo, hi)
			return a.complete(ctx, nd, rec, task.Outputs, func(st *state.State) {
				observeLatency(st, rec.Model, key, lo, hi)
			})
		case xpilot.StatusFailed:
			return a.taskFailed(nd, rec, task.Error)
		}
	}
}
