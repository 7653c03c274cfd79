package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// generate submits a new generation for the node, recording an intent
// before the request and the task right after it.
func (a *applier) generate(ctx context.Context, nd *node) (result, error) {
	n := nd.n
	if stop, why := a.stopping(); stop {
		a.emit(n.Addr, PhaseSkipped, why, nil)
		return result{outcome: OutcomeSkipped, message: why, notSubmitted: true}, nil
	}
	req, redacted, err := a.resolve(n)
	if err != nil {
		a.emit(n.Addr, PhaseFailed, err.Error(), nil)
		return result{outcome: OutcomeFailed, message: err.Error()}, nil
	}
	a.emit(n.Addr, PhaseQueued, "", nil) // its inputs are known; it waits for a slot and the rate limit
	rec := &state.Asset{Address: n.Addr, Kind: string(n.Kind), Model: req.Model(), RequestHash: req.Hash(),
		Request: req.Normalized(), DependsOn: n.Deps, Status: state.StatusIntent, IntentAt: a.clock.Now(), Redacted: redacted}
	// Let the critical path's requests go first while the window is short,
	// then take a parallelism slot and, with other runners, the asset's claim.
	a.sched.admit(ctx, a.stopCh, nd)
	release, unclaim, adopted, res, err := a.claimFor(ctx, nd, a.acquire)
	if adopted {
		if res.outcome == OutcomeSkipped {
			a.emit(n.Addr, PhaseSkipped, res.message, nil)
		}
		return res, err
	}
	defer unclaim()
	defer release()
	if stop, why := a.stopping(); stop { // re-check: the wait for a slot may have been long
		a.emit(n.Addr, PhaseSkipped, why, nil)
		return result{outcome: OutcomeSkipped, message: why, notSubmitted: true}, nil
	}
	if err := a.recordIntent(rec); err != nil {
		if errors.Is(err, state.ErrClaimLost) {
			return a.claimLost(nd, err), nil
		}
		return result{outcome: OutcomeFailed, message: err.Error()}, err
	}
	done := a.sched.submitting(nd)
	task, text, err := a.submit(ctx, nd, req)
	done()
	release()
	var notSent *xpilot.NotSentError
	if errors.As(err, &notSent) {
		return a.unsent(nd)
	}
	if err != nil {
		return a.submitFailed(nd, rec, err)
	}
	return a.submitted(ctx, nd, rec, req, task, text)
}

// claimLost ends a node whose intent the campaign refused because this
// runner's claim on it lapsed (a database outage longer than the lease, a
// stalled process): nothing was sent, and the asset is left to the runner
// that holds it now, or to a later apply.
func (a *applier) claimLost(nd *node, err error) result {
	holder := ""
	var lost interface{ ClaimHolder() string }
	if errors.As(err, &lost) {
		holder = lost.ClaimHolder()
	}
	msg := "not submitted: this runner's claim on it lapsed before its generate request; apply again to generate it"
	if holder != "" {
		msg = "not submitted: runner " + holder + " took it over after this runner's claim lapsed, and generates it"
	}
	a.emit(nd.addr, PhaseSkipped, msg, nil)
	return result{outcome: OutcomeSkipped, message: msg}
}

// submit sends the generate request at submit priority. It is given up,
// unsent, if submitting stops while it waits for its rate-limit slot: a
// queued submit may wait up to a minute, and must not be paid for after an
// interrupt or a 402.
func (a *applier) submit(ctx context.Context, nd *node, req planner.Request) (*xpilot.Task, *xpilot.TextResult, error) {
	if a.sched.windowFull() {
		a.emit(nd.addr, PhaseRateLimited, "", nil)
	}
	call := xpilot.Call{Priority: xpilot.PrioritySubmit, Abort: a.abort,
		Sent: func(time.Time) { a.emit(nd.addr, PhaseSubmitting, "", nil) }}
	c := a.opts.Client
	switch req.Kind {
	case spec.KindText:
		t, err := c.GenerateText(ctx, *req.Text, call)
		return nil, t, err
	case spec.KindImage:
		t, err := c.GenerateImage(ctx, *req.Image, call)
		return t, nil, err
	default:
		t, err := c.GenerateVideo(ctx, *req.Video, call)
		return t, nil, err
	}
}

// unsent undoes the intent of a generate given up before it was sent: the
// record goes back to what it was before this run.
func (a *applier) unsent(nd *node) (result, error) {
	n := nd.n
	_, why := a.stopping()
	if why == "" {
		why = "not started: apply stopped"
	}
	a.emit(n.Addr, PhaseSkipped, why, nil)
	res := result{outcome: OutcomeSkipped, message: why, notSubmitted: true}
	err := a.record(nil, func(st *state.State) {
		if n.Prior == nil {
			delete(st.Assets, n.Addr)
		} else {
			st.Assets[n.Addr] = n.Prior.Clone()
		}
	}, n.Addr)
	return res, err
}

// submitFailed records why a generate request did not start a task.
func (a *applier) submitFailed(nd *node, rec *state.Asset, err error) (result, error) {
	n := nd.n
	if errors.Is(err, xpilot.ErrUnknownOutcome) {
		msg := "the generate request was sent but no answer arrived, so it may have been charged; " +
			"xpflow will not resend it on its own. Check your xPilot balance, then run apply with -replace " + n.Addr + " to generate it again"
		a.emit(n.Addr, PhaseUnknown, msg, nil)
		return result{outcome: OutcomeUnknown, message: msg}, nil // the intent record stays: it is the truth
	}
	var apiErr *xpilot.APIError
	isAPI := errors.As(err, &apiErr)
	rec.Status, rec.Error = state.StatusFailed, err.Error()
	res := result{outcome: OutcomeFailed}
	switch {
	case isAPI && apiErr.Status == 401:
		rec.Error = ErrUnauthorized.Error()
		a.emit(n.Addr, PhaseFailed, rec.Error, nil)
		res.message = rec.Error
		if werr := a.record(rec, nil); werr != nil {
			return res, werr
		}
		return res, ErrUnauthorized
	case isAPI && apiErr.Status == 402:
		a.ledger.stop()
		a.abortSubmits()
		rec.Error = "insufficient credits: " + apiErr.Message
		res.notSubmitted = true
	}
	res.message = rec.Error
	a.emit(n.Addr, PhaseFailed, rec.Error, nil)
	return res, a.record(rec, nil)
}

// submitted records the API's answer and carries the node to completion.
func (a *applier) submitted(ctx context.Context, nd *node, rec *state.Asset, req planner.Request, task *xpilot.Task, text *xpilot.TextResult) (result, error) {
	n := nd.n
	now := a.clock.Now()
	rec.SubmittedAt = now
	var cost, remaining *int
	if (text != nil && text.Redacted) || (task != nil && task.Redacted) {
		rec.Redacted = append(rec.Redacted, state.RedactedAnswer)
	}
	if text != nil {
		rec.Status, rec.Content, rec.CompletedAt = state.StatusCompleted, text.Content, now
		rec.Usage = &state.Usage{PromptTokens: text.Usage.PromptTokens, CompletionTokens: text.Usage.CompletionTokens, TotalTokens: text.Usage.TotalTokens}
		cost, remaining = text.CostCents, text.RemainingCreditsCents
	} else {
		rec.Status, rec.TaskID, rec.PollURL, rec.Provider = state.StatusSubmitted, task.TaskID, task.PollURL, task.Provider
		cost, remaining = task.CostCents, task.RemainingCreditsCents
		// A synchronous answer is final: record it in this first write, or a
		// crash before the next one would leave a "submitted" task with no
		// poll_url to resume from and its paid output URLs lost.
		switch task.Status {
		case xpilot.StatusCompleted:
			rec.Status, rec.CompletedAt = state.StatusCompleted, now
			rec.Outputs = make([]state.Output, len(task.Outputs))
			for i, u := range task.Outputs {
				rec.Outputs[i] = state.Output{URL: u}
			}
		case xpilot.StatusFailed:
			rec.Status, rec.Error = state.StatusFailed, "generation failed: "+task.Error
		}
	}
	rec.CostCents = cost
	if cost != nil {
		nd.cost = *cost
	}
	a.ledger.charge(rec.Model, cost, remaining)
	key := planner.PriceKey(n.Kind, req.Duration())
	balance := a.ledger.balance()
	err := a.record(rec, func(st *state.State) { observePrice(st, rec.Model, key, cost, balance, now) })
	if err != nil {
		// The generation is paid: name the task so it can be found again.
		err = fmt.Errorf("%w (the API answered task %q, poll_url %q: note them, the state could not)", err, rec.TaskID, rec.PollURL)
		return result{outcome: OutcomeFailed, message: err.Error()}, err
	}
	a.emit(n.Addr, PhaseSubmitted, rec.TaskID, cost)
	switch {
	case text != nil:
		return a.done(nd, rec), nil
	case task.Status == xpilot.StatusCompleted:
		a.sched.answeredAtOnce(rec.Model, key)
		return a.complete(ctx, nd, rec, task.Outputs)
	case task.Status == xpilot.StatusFailed:
		return a.taskFailed(nd, rec, task.Error)
	case task.PollURL == "":
		// The task is paid for but cannot be followed. The record stays
		// "submitted" (which plans as unknown, never as an automatic retry).
		msg := "the API answered " + task.Status + " for task " + task.TaskID + " without a poll_url to follow; " +
			"it may have been charged. Check it, then use -replace " + n.Addr + " to generate it again"
		a.emit(n.Addr, PhaseUnknown, msg, nil)
		return result{outcome: OutcomeUnknown, message: msg}, nil
	}
	return a.track(ctx, nd, rec, now, true)
}
