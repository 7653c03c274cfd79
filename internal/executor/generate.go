package executor

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// maxPollFailures is how many polls in a row may fail (after the client's
// own retries) before the asset is reported failed. Its task stays recorded
// as submitted, so the next apply resumes it.
const maxPollFailures = 3

// generate submits a new generation for the node, recording an intent
// before the request and the task right after it.
func (r *run) generate(ctx context.Context, nr *nodeRun) error {
	n := nr.node
	if stop, why := r.stopping(); stop {
		nr.notSubmitted = true
		nr.finish(OutcomeSkipped, why)
		r.emit(n.Addr, PhaseSkipped, why, nil)
		return nil
	}
	req, err := r.resolve(n)
	if err != nil {
		nr.finish(OutcomeFailed, err.Error())
		r.emit(n.Addr, PhaseFailed, err.Error(), nil)
		return nil
	}
	r.emit(n.Addr, PhaseQueued, "", nil) // its inputs are known; it waits for a slot and the rate limit
	rec := &state.Asset{Address: n.Addr, Kind: string(n.Kind), Model: req.Model(), RequestHash: req.Hash(),
		Request: req.Normalized(), DependsOn: n.Deps, Status: state.StatusIntent, IntentAt: r.clock.Now()}
	if err := r.acquire(ctx); err != nil {
		nr.finish(OutcomeSkipped, "not started: apply stopped")
		r.emit(n.Addr, PhaseSkipped, nr.message, nil)
		return nil
	}
	if stop, why := r.stopping(); stop { // re-check: the wait for a slot may have been long
		r.release()
		nr.notSubmitted = true
		nr.finish(OutcomeSkipped, why)
		r.emit(n.Addr, PhaseSkipped, why, nil)
		return nil
	}
	if err := r.record(rec, nil); err != nil {
		r.release()
		nr.finish(OutcomeFailed, err.Error())
		return err
	}
	r.emit(n.Addr, PhaseSubmitting, "", nil)
	task, text, aborted, err := r.submitUnlessStopped(ctx, req)
	r.release()
	r.submittedOrGone(nr)
	if aborted {
		return r.unsent(nr)
	}
	if err != nil {
		return r.submitFailed(nr, rec, err)
	}
	return r.submitted(ctx, nr, rec, req, task, text)
}

// submit sends the generate request through the client, at submit priority.
func (r *run) submit(ctx context.Context, req planner.Request) (*xpilot.Task, *xpilot.TextResult, error) {
	ctx = xpilot.WithPriority(ctx, xpilot.PrioritySubmit)
	c := r.opts.Client
	switch req.Kind {
	case spec.KindText:
		t, err := c.GenerateText(ctx, *req.Text)
		return nil, t, err
	case spec.KindImage:
		t, err := c.GenerateImage(ctx, *req.Image)
		return t, nil, err
	default:
		t, err := c.GenerateVideo(ctx, *req.Video)
		return t, nil, err
	}
}

// Phases of a submit, for submitUnlessStopped.
const (
	submitWaiting int32 = iota // waiting for a rate-limit slot
	submitSending              // the client is connecting or sending
	submitAborted              // given up before sending
)

// submitUnlessStopped submits like submit, but gives the request up if apply
// is stopped while it still waits for its rate-limit slot: a queued submit
// may wait up to a minute, and must not be paid for after an interrupt.
// Once the client asks for a connection the request goes ahead. aborted
// reports that the request was given up and never sent.
func (r *run) submitUnlessStopped(ctx context.Context, req planner.Request) (task *xpilot.Task, text *xpilot.TextResult, aborted bool, err error) {
	var phase atomic.Int32
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sctx = httptrace.WithClientTrace(sctx, &httptrace.ClientTrace{
		GetConn: func(string) { phase.CompareAndSwap(submitWaiting, submitSending) },
	})
	finished := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		select {
		case <-r.stopCh:
			if phase.CompareAndSwap(submitWaiting, submitAborted) {
				cancel()
			}
		case <-finished:
		}
	}()
	// After a refusal (a 429, a documented GENERATION_FAILED) the client
	// waits to retry: that retry must not go out once apply is stopped.
	sctx = xpilot.WithRetryGate(sctx, func() bool { stop, _ := r.stopping(); return !stop })
	task, text, err = r.submit(sctx, req)
	close(finished)
	watch.Wait()
	var declined *xpilot.RetryCancelledError
	if errors.As(err, &declined) {
		return nil, nil, true, err
	}
	// A request written despite the cancel is an unknown outcome, never
	// an abort: only an error before sending counts as one.
	aborted = phase.Load() == submitAborted && err != nil && !errors.Is(err, xpilot.ErrUnknownOutcome)
	return task, text, aborted, err
}

// unsent undoes the intent of a generate given up before it was sent: the
// record goes back to what it was before this run.
func (r *run) unsent(nr *nodeRun) error {
	n := nr.node
	_, why := r.stopping()
	nr.notSubmitted = true
	nr.finish(OutcomeSkipped, why)
	r.emit(n.Addr, PhaseSkipped, why, nil)
	err := r.opts.Store.Edit([]string{n.Addr}, func(st *state.State) error {
		if n.Prior == nil {
			delete(st.Assets, n.Addr)
		} else {
			st.Assets[n.Addr] = n.Prior.Clone()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %s in state: %w", n.Addr, err)
	}
	return nil
}

// submitFailed records why a generate request did not start a task.
func (r *run) submitFailed(nr *nodeRun, rec *state.Asset, err error) error {
	n := nr.node
	if errors.Is(err, xpilot.ErrUnknownOutcome) {
		msg := "the generate request was sent but no answer arrived, so it may have been charged; " +
			"xpflow will not resend it on its own. Check your xPilot balance, then run apply with -replace " + n.Addr + " to generate it again"
		nr.finish(OutcomeUnknown, msg)
		r.emit(n.Addr, PhaseUnknown, msg, nil)
		return nil // the intent record stays: it is the truth
	}
	var apiErr *xpilot.APIError
	isAPI := errors.As(err, &apiErr)
	rec.Status, rec.Error = state.StatusFailed, err.Error()
	switch {
	case isAPI && apiErr.Status == 401:
		rec.Error = ErrUnauthorized.Error()
		nr.finish(OutcomeFailed, rec.Error)
		r.emit(n.Addr, PhaseFailed, rec.Error, nil)
		if werr := r.record(rec, nil); werr != nil {
			return werr
		}
		return ErrUnauthorized
	case isAPI && apiErr.Status == 402:
		r.mu.Lock()
		r.creditsStop = true
		r.mu.Unlock()
		rec.Error = "insufficient credits: " + apiErr.Message
		nr.notSubmitted = true
	}
	nr.finish(OutcomeFailed, rec.Error)
	r.emit(n.Addr, PhaseFailed, rec.Error, nil)
	return r.record(rec, nil)
}

// submitted records the API's answer and carries the node to completion.
func (r *run) submitted(ctx context.Context, nr *nodeRun, rec *state.Asset, req planner.Request, task *xpilot.Task, text *xpilot.TextResult) error {
	n := nr.node
	now := r.clock.Now()
	rec.SubmittedAt = now
	var cost, remaining *int
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
	r.charge(nr, rec.Model, cost, remaining)
	key := r.elapsedKey(n, req)
	err := r.record(rec, func(st *state.State) { observePrice(st, rec.Model, key, cost, r.balance(), now) })
	if err != nil {
		// The generation is paid: name the task so it can be found again.
		return fmt.Errorf("%w (the API answered task %q, poll_url %q: note them, the state could not)", err, rec.TaskID, rec.PollURL)
	}
	r.emit(n.Addr, PhaseSubmitted, rec.TaskID, cost)
	switch {
	case text != nil:
		return r.done(nr, rec)
	case task.Status == xpilot.StatusCompleted:
		return r.complete(ctx, nr, rec, task.Outputs)
	case task.Status == xpilot.StatusFailed:
		return r.taskFailed(nr, rec, task.Error)
	case task.PollURL == "":
		// The task is paid for but cannot be followed. The record stays
		// "submitted" (which plans as unknown, never as an automatic retry).
		msg := "the API answered " + task.Status + " for task " + task.TaskID + " without a poll_url to follow; " +
			"it may have been charged. Check it, then use -replace " + n.Addr + " to generate it again"
		nr.finish(OutcomeUnknown, msg)
		r.emit(n.Addr, PhaseUnknown, msg, nil)
		return nil
	}
	return r.track(ctx, nr, rec, now, true)
}

// charge notes what a generate cost and the balance it reported. Answers
// to concurrent generates may be handled out of order, and within one run
// the balance only goes down, so the lowest balance reported in this run is
// the latest. (A top-up during the run shows from the next run on.)
func (r *run) charge(nr *nodeRun, model string, cost, remaining *int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cost != nil {
		nr.cost = *cost
		r.spent[model] += *cost
	}
	if remaining != nil {
		v := *remaining
		if r.balanceSeen && r.remaining != nil && *r.remaining < v {
			v = *r.remaining
		}
		r.remaining, r.balanceSeen = &v, true
	}
}

// balance returns a copy of the latest balance this run knows, nil if none.
func (r *run) balance() *int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.remaining == nil {
		return nil
	}
	v := *r.remaining
	return &v
}

func observePrice(st *state.State, model, key string, cost, remaining *int, at time.Time) {
	if remaining != nil {
		st.Balance = &state.Balance{Cents: *remaining, At: at}
	}
	if cost == nil {
		return
	}
	ms := modelStats(st, model)
	p := ms.Prices[key]
	if p == nil {
		p = &state.Price{}
		ms.Prices[key] = p
	}
	p.Cents, p.Count, p.At = *cost, p.Count+1, at
}

func modelStats(st *state.State, model string) *state.ModelStats {
	if st.Models == nil {
		st.Models = map[string]*state.ModelStats{}
	}
	ms := st.Models[model]
	if ms == nil {
		ms = &state.ModelStats{}
		st.Models[model] = ms
	}
	if ms.Prices == nil {
		ms.Prices = map[string]*state.Price{}
	}
	if ms.Latency == nil {
		ms.Latency = map[string]*state.Samples{}
	}
	return ms
}

// recheckInterval is how often a task waiting for its next poll looks
// again at the request budget, which may have freed up meanwhile.
const recheckInterval = 5 * time.Second

// track polls a submitted task on the learned schedule until it ends, the
// run stops, or polling keeps failing. Polls of tasks that others wait on go
// before submits; polls of leaves go after them.
func (r *run) track(ctx context.Context, nr *nodeRun, rec *state.Asset, submittedAt time.Time, seenRunning bool) error {
	n := nr.node
	kind, key := n.Kind, keyFor(n.Kind, rec)
	prio := xpilot.PriorityLeafPoll
	if r.dependents[n.Addr] > 0 {
		prio = xpilot.PriorityPoll
	}
	r.tracking.Add(1)
	defer r.tracking.Add(-1)
	r.emit(n.Addr, PhasePolling, rec.TaskID, nil)
	var last time.Time
	if !seenRunning {
		// A resumed task may have been polled by the run before this one
		// just before it stopped: count this run's start as a poll, so the
		// 3 s spacing holds across runs too.
		last = r.start
	}
	var known time.Duration // the task was seen processing this long after submission
	failures := 0
	for {
		now := r.clock.Now()
		due := submittedAt.Add(r.lat.NextPoll(kind, rec.Model, key, known, r.budgetIdle()))
		if !last.IsZero() && due.Before(last.Add(MinPollInterval)) {
			due = last.Add(MinPollInterval)
		}
		wake := due
		if wake.Sub(now) > recheckInterval {
			wake = now.Add(recheckInterval)
		}
		if !r.sleepUntil(ctx, wake) {
			nr.finish(OutcomeGenerating, "still generating as task "+rec.TaskID+"; apply again to resume")
			return nil
		}
		if wake.Before(due) {
			continue // look at the budget again
		}
		task, err := r.opts.Client.Poll(xpilot.WithPriority(ctx, prio), rec.PollURL)
		last = r.clock.Now()
		if err != nil {
			var apiErr *xpilot.APIError
			if errors.As(err, &apiErr) && apiErr.Status == 401 {
				nr.finish(OutcomeFailed, ErrUnauthorized.Error())
				r.emit(n.Addr, PhaseFailed, ErrUnauthorized.Error(), nil)
				return ErrUnauthorized
			}
			if ctx.Err() != nil {
				nr.finish(OutcomeGenerating, "still generating as task "+rec.TaskID+"; apply again to resume")
				return nil
			}
			if failures++; failures >= maxPollFailures {
				msg := fmt.Sprintf("polling task %s failed: %v; it stays recorded, apply again to resume", rec.TaskID, err)
				nr.finish(OutcomeFailed, msg)
				r.emit(n.Addr, PhaseFailed, msg, nil)
				return nil
			}
			continue
		}
		failures = 0
		switch task.Status {
		case xpilot.StatusCompleted:
			if seenRunning {
				// The poll was due at due; any later answer is time spent
				// waiting for the rate limit, which is no part of the latency.
				r.observeLatency(rec.Model, key, latencySample(known, due.Sub(submittedAt)))
			}
			return r.complete(ctx, nr, rec, task.Outputs)
		case xpilot.StatusFailed:
			return r.taskFailed(nr, rec, task.Error)
		}
		seenRunning = true // the next answer brackets the latency
		known = last.Sub(submittedAt)
	}
}

// latencySample turns "processing at lo, completed at hi" into one sample.
// A task found done at its first poll records hi: it is stable under the
// quantile schedule (the next run polls at the same point again), where a
// midpoint with lo = 0 would halve and drift. A bracket from a later poll
// records its midpoint.
func latencySample(lo, hi time.Duration) time.Duration {
	if lo <= 0 {
		return hi
	}
	return (lo + hi) / 2
}

// budgetIdle reports whether the rate window has room beyond what the run
// still needs (a submit per unsubmitted node, a poll per tracked task), so
// that an extra poll delays nobody.
func (r *run) budgetIdle() bool {
	l := r.opts.Client.Limiter()
	if l.PerMinute() <= 0 {
		return true
	}
	st := l.Stats()
	need := int(r.unsubmitted.Load() + r.tracking.Load())
	return st.InWindow+st.Waiting+need < l.PerMinute()
}

// sleepUntil waits for t on the run's clock; false if the run stopped.
func (r *run) sleepUntil(ctx context.Context, t time.Time) bool {
	tm := r.clock.NewTimer(t.Sub(r.clock.Now()))
	defer tm.Stop()
	select {
	case <-tm.C():
		return true
	case <-ctx.Done():
		return false
	case <-r.stopCh:
		return false
	}
}

func (r *run) observeLatency(model, key string, d time.Duration) {
	sec := d.Seconds()
	r.lat.Observe(model, key, sec)
	_ = r.opts.Store.Edit(nil, func(st *state.State) error {
		ms := modelStats(st, model)
		s := ms.Latency[key]
		if s == nil {
			s = &state.Samples{}
			ms.Latency[key] = s
		}
		s.Add(sec)
		return nil
	})
}

func (r *run) taskFailed(nr *nodeRun, rec *state.Asset, apiMsg string) error {
	if apiMsg == "" {
		apiMsg = "the API reported the task failed without a reason"
	}
	rec.Status, rec.Error = state.StatusFailed, "generation failed: "+apiMsg
	nr.finish(OutcomeFailed, rec.Error)
	r.emit(nr.node.Addr, PhaseFailed, rec.Error, nil)
	return r.record(rec, nil)
}

// complete downloads the outputs and records the asset as completed.
func (r *run) complete(ctx context.Context, nr *nodeRun, rec *state.Asset, urls []string) error {
	n := nr.node
	if len(urls) == 0 {
		return r.taskFailed(nr, rec, "the task completed with no outputs")
	}
	// Keep what is known of outputs already recorded (a re-download): a
	// failed download must not erase the record of a file still intact.
	known := map[string]state.Output{}
	for _, o := range rec.Outputs {
		known[o.URL] = o
	}
	rec.Outputs = make([]state.Output, len(urls))
	for i, u := range urls {
		rec.Outputs[i] = state.Output{URL: u}
		if o, ok := known[u]; ok {
			rec.Outputs[i] = o
		}
	}
	if rec.CompletedAt.IsZero() {
		rec.CompletedAt = r.clock.Now()
	}
	rec.Status = state.StatusCompleted
	if err := r.record(rec, nil); err != nil { // the URLs are paid for: keep them first
		return err
	}
	r.emit(n.Addr, PhaseDownloading, "", nil)
	if err := r.acquire(ctx); err != nil {
		nr.finish(OutcomeFailed, "download not started: apply stopped; apply again to download")
		return nil
	}
	outs, err := r.dl.fetch(ctx, n.Addr, urls)
	r.release()
	if err != nil {
		msg := err.Error() + " (the generation is recorded; apply again to retry the download)"
		nr.finish(OutcomeFailed, msg)
		r.emit(n.Addr, PhaseFailed, msg, nil)
		return nil
	}
	rec.Outputs = outs
	if err := r.record(rec, nil); err != nil {
		return err
	}
	return r.done(nr, rec)
}

func (r *run) done(nr *nodeRun, rec *state.Asset) error {
	r.setResult(nr.node.Addr, rec)
	nr.finish(OutcomeDone, "")
	msg := ""
	if len(rec.Outputs) > 0 {
		msg = rec.Outputs[0].File
	}
	r.emit(nr.node.Addr, PhaseDone, msg, nil)
	return nil
}
