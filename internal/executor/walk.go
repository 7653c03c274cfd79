package executor

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// vertex is one node of the walk: its address, the addresses it waits on,
// and, once done is closed, how it ended.
type vertex struct {
	addr string
	deps []string
	done chan struct{}
	// Set by the walk before done is closed.
	outcome      Outcome
	message      string
	notSubmitted bool // it spent nothing because submitting had stopped
}

// visitFunc is the domain logic of one vertex, called once every upstream
// vertex ended well. It returns the vertex's outcome; a non-nil error stops
// the whole walk.
type visitFunc func(ctx context.Context, v *vertex) (result, error)

// result is how a visit ended.
type result struct {
	outcome      Outcome
	message      string
	notSubmitted bool
}

// skipFunc says why a vertex whose upstream dep did not end well is
// skipped; it may consult the run (an interrupted apply, credits).
type skipFunc func(v, dep *vertex) result

// walk visits every vertex concurrently, each as soon as its dependencies
// are done, the way terraform's dag.Walker does: the walk owns waiting,
// cancelling and upstream failure, visit holds the domain logic. A vertex
// whose dependency failed, was skipped or was not submitted is skipped
// with skip's result and not visited, so the user sees the root cause once.
// It returns the first error of a visit.
func walk(ctx context.Context, vs []*vertex, visit visitFunc, skip skipFunc) error {
	byAddr := make(map[string]*vertex, len(vs))
	for _, v := range vs {
		byAddr[v.addr] = v
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, v := range vs {
		g.Go(func() error {
			defer close(v.done)
			if res, ok := waitUpstream(gctx, v, byAddr, skip); !ok {
				v.outcome, v.message, v.notSubmitted = res.outcome, res.message, res.notSubmitted
				return nil
			}
			res, err := visit(gctx, v)
			v.outcome, v.message, v.notSubmitted = res.outcome, res.message, res.notSubmitted
			return err
		})
	}
	return g.Wait()
}

// waitUpstream blocks until every dependency of v is done; ok is false when
// v must not be visited, with the result v ends with.
func waitUpstream(ctx context.Context, v *vertex, byAddr map[string]*vertex, skip skipFunc) (result, bool) {
	for _, d := range v.deps {
		dep, ok := byAddr[d]
		if !ok {
			continue
		}
		select {
		case <-dep.done:
		case <-ctx.Done():
			return result{outcome: OutcomeSkipped, message: "not started: apply stopped"}, false
		}
		if dep.outcome != OutcomeDone && dep.outcome != OutcomeUnchanged {
			return skip(v, dep), false
		}
	}
	return result{}, true
}

// upstreamSkip is the skip rule of apply. A node whose dependency was never
// submitted (credits ran out, or apply was interrupted) is itself not
// submitted, so that the shortfall counts it; a dependency still generating
// when apply stopped is not a failure.
func (a *applier) upstreamSkip(v, dep *vertex) result {
	skipped := func(msg string) result { return result{outcome: OutcomeSkipped, message: msg} }
	switch {
	case dep.notSubmitted:
		if stop, why := a.stopping(); stop {
			return result{outcome: OutcomeSkipped, message: why, notSubmitted: true}
		}
		return result{outcome: OutcomeSkipped, message: fmt.Sprintf("not submitted: %s was not submitted", dep.addr), notSubmitted: true}
	case dep.outcome == OutcomeSkipped:
		return skipped(dep.message) // already names the root cause
	case dep.outcome == OutcomeGenerating:
		return skipped(fmt.Sprintf("not started: %s is still generating; apply again to resume", dep.addr))
	default:
		return skipped(fmt.Sprintf("upstream failed: %s is %s", dep.addr, dep.outcome))
	}
}
