package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// Options configure Run.
type Options struct {
	Client *xpilot.Client
	Store  *state.Store
	Clock  clock.Clock
	// HTTP downloads outputs; nil uses a client with a 10-minute timeout.
	HTTP *http.Client
	// Parallelism bounds concurrent submits and downloads (default 16).
	// Tasks waiting for their generation hold no slot.
	Parallelism int
	// Observer receives every state change; nil discards them.
	Observer Observer
	// Stop, when closed, stops the run gracefully: nothing new is submitted,
	// in-flight generate requests are answered and recorded, and Run returns
	// with the tasks still generating marked as such.
	Stop <-chan struct{}
	// MaxDownloadBytes caps one output file (default 1 GiB).
	MaxDownloadBytes int64
	// Claims, when set, coordinates this run with other runners applying
	// the same campaign (see Claimer); nil for a run that is alone.
	Claims Claimer
}

// ErrUnauthorized is returned when the API rejects the key.
var ErrUnauthorized = errors.New("the API rejected the key (401 UNAUTHORIZED): check XPILOT_API_KEY")

// applier holds what the per-node callbacks of one Run share: the options,
// the plan's scope, and the run's collaborators (the request scheduler,
// the credit ledger, the latency estimate, the downloader). The DAG walk
// itself is walk's.
type applier struct {
	opts   Options
	plan   *planner.Plan
	clock  clock.Clock
	start  time.Time
	lat    *Latencies
	sched  *scheduler
	ledger *ledger
	dl     *downloader
	slots  chan struct{}
	nodes  []*node
	stopCh <-chan struct{}
	// abort is closed once nothing more may be submitted: apply was
	// stopped or credits ran out. Submits waiting for the rate limit are
	// then given up unsent.
	abort     chan struct{}
	abortOnce sync.Once

	scopeMu sync.Mutex // guards plan.Scope

	// dependents counts, per address, the nodes of this run that read it.
	dependents map[string]int

	// claimedUnsent counts the submits this runner reserved to claim (see
	// Claimer) that are not yet in the limiter's window; claimMu makes a
	// reservation atomic with the look at the window.
	claimedUnsent atomic.Int64
	claimMu       sync.Mutex
}

// node is one plan node during the run.
type node struct {
	vertex
	n *planner.Node
	// rank is the expected seconds of work from this node's submit to the
	// end of the longest chain of dependents behind it (see rankNodes).
	rank  float64
	feeds bool // other nodes read from it
	cost  int  // cents charged; written by the node's visit before done
	// byOther: the node's record was left by another runner of the
	// campaign and adopted; written by the node's visit before done.
	byOther bool
}

// Run applies the plan. It returns a summary of what happened; the error is
// non-nil only when the run could not go on at all (the key was rejected,
// the state could not be written).
func Run(ctx context.Context, plan *planner.Plan, opts Options) (*Summary, error) {
	a := newApplier(plan, opts)
	if err := a.forget(); err != nil {
		return nil, err
	}
	releaseOut, err := a.prepareOutputs()
	if err != nil {
		return nil, err
	}
	defer releaseOut()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.sched.run(sctx)
	go a.watchStop(sctx)
	byVertex := map[*vertex]*node{}
	vs := make([]*vertex, len(a.nodes))
	for i, nd := range a.nodes {
		vs[i] = &nd.vertex
		byVertex[&nd.vertex] = nd
	}
	err = walk(ctx, vs, func(ctx context.Context, v *vertex) (result, error) {
		defer a.sched.finished(byVertex[v])
		return a.visit(ctx, byVertex[v])
	}, func(v, dep *vertex) result {
		res := a.upstreamSkip(v, dep)
		a.sched.gone(byVertex[v])
		a.emit(v.addr, PhaseSkipped, res.message, nil)
		return res
	})
	return a.summary(), err
}

func newApplier(plan *planner.Plan, opts Options) *applier {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 16
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 10 * time.Minute}
	}
	if opts.MaxDownloadBytes <= 0 {
		opts.MaxDownloadBytes = DefaultMaxDownloadBytes
	}
	if opts.Observer == nil {
		opts.Observer = ObserverFunc(func(Event) {})
	}
	stop := opts.Stop
	if stop == nil {
		stop = make(chan struct{})
	}
	snap := opts.Store.Snapshot()
	a := &applier{opts: opts, plan: plan, clock: opts.Clock, start: opts.Clock.Now(),
		lat: NewLatencies(snap), ledger: newLedger(snap), slots: make(chan struct{}, opts.Parallelism),
		stopCh: stop, abort: make(chan struct{}), dependents: map[string]int{},
		dl: &downloader{http: opts.HTTP, clock: opts.Clock, maxBytes: opts.MaxDownloadBytes,
			attempts: 3, specDir: plan.Spec.Dir, outDir: plan.Spec.Settings.OutputDir}}
	a.sched = newScheduler(opts.Clock, opts.Client.Limiter(), a.lat)
	for _, n := range plan.Nodes {
		nd := &node{vertex: vertex{addr: n.Addr, deps: n.Deps, done: make(chan struct{})}, n: n}
		a.nodes = append(a.nodes, nd)
		if n.Excluded {
			nd.deps = nil
			continue
		}
		if n.Action.Spends() {
			a.sched.willSubmit(nd)
		}
		for _, d := range n.Deps {
			a.dependents[d]++
		}
	}
	a.rankNodes()
	return a
}

// watchStop closes abort when apply is stopped.
func (a *applier) watchStop(ctx context.Context) {
	select {
	case <-a.stopCh:
		a.abortSubmits()
	case <-ctx.Done():
	}
}

func (a *applier) abortSubmits() { a.abortOnce.Do(func() { close(a.abort) }) }

// forget drops the records of assets no longer in the spec; their files stay.
func (a *applier) forget() error {
	if len(a.plan.Forget) == 0 {
		return nil
	}
	return a.record(nil, func(st *state.State) {
		for _, addr := range a.plan.Forget {
			delete(st.Assets, addr)
		}
	}, a.plan.Forget...)
}

func (a *applier) emit(addr string, p Phase, msg string, cost *int) {
	now := a.clock.Now()
	a.opts.Observer.Event(Event{Time: now, Addr: addr, Phase: p, Elapsed: now.Sub(a.start), Message: msg,
		CostCents: cost, ETA: a.sched.forecast(now)})
}

// stopping reports whether nothing more may be submitted, and why.
func (a *applier) stopping() (bool, string) {
	select {
	case <-a.stopCh:
		return true, "not submitted: apply was interrupted"
	default:
	}
	if a.ledger.isStopped() {
		return true, "not submitted: insufficient credits"
	}
	return false, ""
}

// visit drives one node to its outcome. It returns an error only for
// failures that must stop the whole run.
func (a *applier) visit(ctx context.Context, nd *node) (result, error) {
	n := nd.n
	if n.Excluded {
		return result{outcome: OutcomeExcluded}, nil
	}
	defer a.sched.gone(nd)
	switch n.Action {
	case planner.ActionNoop, planner.ActionExpired:
		// An expired output was reported when it expired, and plan
		// names it: trying its link again would fail the same way.
		return result{outcome: OutcomeUnchanged}, nil
	case planner.ActionUnknown, planner.ActionResume:
		if a.opts.Claims == nil {
			break
		}
		// The record may be another runner's work in flight: wait for it.
		_, unclaim, adopted, res, err := a.claimFor(ctx, nd, nil)
		if adopted {
			if res.outcome == OutcomeSkipped {
				a.emit(n.Addr, PhaseSkipped, res.message, nil)
			}
			return res, err
		}
		defer unclaim()
	}
	switch n.Action {
	case planner.ActionUnknown:
		a.emit(n.Addr, PhaseUnknown, n.Reason, nil)
		return result{outcome: OutcomeUnknown, message: n.Reason}, nil
	case planner.ActionResume:
		a.emit(n.Addr, PhaseQueued, "resuming task "+n.Prior.TaskID, nil)
		return a.track(ctx, nd, n.Prior.Clone(), n.Prior.SubmittedAt, false)
	case planner.ActionDownload:
		a.emit(n.Addr, PhaseQueued, "downloading again", nil)
		return a.complete(ctx, nd, n.Prior.Clone(), outputURLs(n.Prior))
	default:
		return a.generate(ctx, nd)
	}
}

func outputURLs(a *state.Asset) []string {
	urls := make([]string, len(a.Outputs))
	for i, o := range a.Outputs {
		urls[i] = o.URL
	}
	return urls
}

// acquire takes a parallelism slot; the caller must call release once.
// Tasks waiting for their generation hold none, as go-task's concurrency
// slots are given back while a task waits on its dependencies.
func (a *applier) acquire(ctx context.Context) (release func(), err error) {
	select {
	case a.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-a.slots }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// resolve evaluates the node's parameters with the real upstream results.
// It also returns the parameters whose value held the API key, which the
// evaluation replaced with [REDACTED].
func (a *applier) resolve(n *planner.Node) (planner.Request, []string, error) {
	a.scopeMu.Lock()
	params, _, diags := a.plan.Scope.Eval(n.Instance)
	a.scopeMu.Unlock()
	if diags.HasErrors() {
		return planner.Request{}, nil, fmt.Errorf("evaluate %s: %s", n.Addr, diags.Error())
	}
	req, err := planner.RequestFromParams(n.Kind, params)
	if err != nil {
		return planner.Request{}, nil, fmt.Errorf("evaluate %s: %w", n.Addr, err)
	}
	return req, spec.SecretsReplaced(diags), nil
}

// setResult publishes a finished node's results to its dependents.
func (a *applier) setResult(addr string, rec *state.Asset) {
	a.scopeMu.Lock()
	defer a.scopeMu.Unlock()
	a.plan.Scope.SetResult(addr, planner.ResultFromState(rec))
}

func keyFor(kind spec.Kind, a *state.Asset) string {
	d := planner.DefaultDuration
	switch v := a.Request["duration"].(type) {
	case float64:
		d = int(v)
	case json.Number:
		if n, err := v.Int64(); err == nil {
			d = int(n)
		}
	}
	return planner.PriceKey(kind, d)
}
