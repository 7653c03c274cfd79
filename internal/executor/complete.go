package executor

import (
	"context"
	"errors"

	"github.com/xpflow/xpflow/internal/state"
)

// taskFailed records a generation the API reported failed.
func (a *applier) taskFailed(nd *node, rec *state.Asset, apiMsg string) (result, error) {
	if apiMsg == "" {
		apiMsg = "the API reported the task failed without a reason"
	}
	rec.Status, rec.Error = state.StatusFailed, "generation failed: "+apiMsg
	a.emit(nd.addr, PhaseFailed, rec.Error, nil)
	return result{outcome: OutcomeFailed, message: rec.Error}, a.record(rec, nil)
}

// complete records the outputs of a finished generation (with extra, which
// may add what the run learned), downloads them and records the files.
func (a *applier) complete(ctx context.Context, nd *node, rec *state.Asset, urls []string, extra ...func(*state.State)) (result, error) {
	if len(urls) == 0 {
		return a.taskFailed(nd, rec, "the task completed with no outputs")
	}
	// Keep what is known of outputs already recorded (a re-download): a
	// failed download must not erase the record of a file still intact.
	known := map[string]state.Output{}
	want := map[string]string{} // a recorded sha256 is what the bytes must hash to
	for _, o := range rec.Outputs {
		known[o.URL] = o
		if o.SHA256 != "" {
			want[o.URL] = o.SHA256
		}
	}
	rec.Outputs = make([]state.Output, len(urls))
	for i, u := range urls {
		rec.Outputs[i] = state.Output{URL: u}
		if o, ok := known[u]; ok {
			rec.Outputs[i] = o
		}
	}
	if rec.CompletedAt.IsZero() {
		rec.CompletedAt = a.clock.Now()
	}
	rec.Status = state.StatusCompleted
	var more func(*state.State)
	if len(extra) > 0 {
		more = extra[0]
	}
	if err := a.record(rec, more); err != nil { // the URLs are paid for: keep them first
		return result{outcome: OutcomeFailed, message: err.Error()}, err
	}
	a.emit(nd.addr, PhaseDownloading, "", nil)
	release, err := a.acquire(ctx)
	if err != nil {
		return result{outcome: OutcomeFailed, message: "download not started: apply stopped; apply again to download"}, nil
	}
	outs, err := a.dl.fetch(ctx, nd.addr, urls, want)
	release()
	var mismatch *HashMismatchError
	if errors.As(err, &mismatch) {
		// Never accepted, never retried on its own: the record keeps
		// the hash of the bytes that were paid for.
		msg := mismatch.Error()
		a.emit(nd.addr, PhaseFailed, msg, nil)
		return result{outcome: OutcomeFailed, message: msg}, nil
	}
	if urlExpired(err) {
		// Recorded, so that plan stops offering a download that cannot
		// succeed and later applies do not try it again.
		for i := range rec.Outputs {
			if rec.Outputs[i].File == "" {
				rec.Outputs[i].Expired = true
			}
		}
		if err := a.record(rec, nil); err != nil {
			return result{outcome: OutcomeFailed, message: err.Error()}, err
		}
		msg := expiredMessage(nd.addr, rec, err)
		a.emit(nd.addr, PhaseExpired, msg, nil)
		return result{outcome: OutcomeExpired, message: msg}, nil
	}
	if err != nil {
		msg := err.Error() + " (the generation is recorded; apply again to retry the download)"
		a.emit(nd.addr, PhaseFailed, msg, nil)
		return result{outcome: OutcomeFailed, message: msg}, nil
	}
	rec.Outputs = outs
	if err := a.record(rec, nil); err != nil {
		return result{outcome: OutcomeFailed, message: err.Error()}, err
	}
	return a.done(nd, rec), nil
}

// done publishes a finished node's results to its dependents.
func (a *applier) done(nd *node, rec *state.Asset) result {
	a.setResult(nd.addr, rec)
	msg := ""
	if len(rec.Outputs) > 0 {
		msg = rec.Outputs[0].File
	}
	a.emit(nd.addr, PhaseDone, msg, nil)
	return result{outcome: OutcomeDone}
}
