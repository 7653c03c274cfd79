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

	"golang.org/x/sync/errgroup"

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
}

// ErrUnauthorized is returned when the API rejects the key.
var ErrUnauthorized = errors.New("the API rejected the key (401 UNAUTHORIZED): check XPILOT_API_KEY")

// run is the state of one Run.
type run struct {
	opts   Options
	plan   *planner.Plan
	clock  clock.Clock
	start  time.Time
	lat    *Latencies
	dl     *downloader
	slots  chan struct{}
	nodes  map[string]*nodeRun
	order  []*nodeRun
	stopCh <-chan struct{}

	scopeMu sync.Mutex // guards plan.Scope

	// dependents counts, per address, the nodes of this run that read it.
	dependents map[string]int
	// unsubmitted counts spending nodes whose generate request has not been
	// answered yet; tracking counts tasks being polled. Together they are
	// the requests the run still needs, which budgetIdle reserves.
	unsubmitted atomic.Int64
	tracking    atomic.Int64

	mu          sync.Mutex // guards the fields below
	creditsStop bool
	spent       map[string]int // cents charged this run, by model
	remaining   *int           // the latest balance known: from the state, then from answers
	balanceSeen bool           // remaining was reported by an answer in this run
}

// nodeRun tracks one node during the run.
type nodeRun struct {
	node *planner.Node
	done chan struct{}
	// The fields below are written only by the node's own goroutine before
	// done is closed, and read by others after.
	outcome      Outcome
	message      string
	cost         int
	notSubmitted bool // skipped because submitting had stopped
	unsubmitted  bool // counted in run.unsubmitted
}

// Run applies the plan. It returns a summary of what happened; the error is
// non-nil only when the run could not go on at all (the key was rejected,
// the state could not be written).
func Run(ctx context.Context, plan *planner.Plan, opts Options) (*Summary, error) {
	r := newRun(plan, opts)
	if err := r.forget(); err != nil {
		return nil, err
	}
	if err := removeStaleDownloads(r.dl.outDir); err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, nr := range r.order {
		nr := nr
		g.Go(func() error { return r.runNode(gctx, nr) })
	}
	err := g.Wait()
	return r.summary(), err
}

func newRun(plan *planner.Plan, opts Options) *run {
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
	r := &run{opts: opts, plan: plan, clock: opts.Clock, start: opts.Clock.Now(),
		lat: NewLatencies(snap), slots: make(chan struct{}, opts.Parallelism),
		nodes: map[string]*nodeRun{}, stopCh: stop, spent: map[string]int{},
		dl: &downloader{http: opts.HTTP, clock: opts.Clock, maxBytes: opts.MaxDownloadBytes,
			attempts: 3, specDir: plan.Spec.Dir, outDir: plan.Spec.Settings.OutputDir}}
	if snap.Balance != nil {
		c := snap.Balance.Cents
		r.remaining = &c
	}
	r.dependents = map[string]int{}
	for _, n := range plan.Nodes {
		nr := &nodeRun{node: n, done: make(chan struct{})}
		r.nodes[n.Addr] = nr
		r.order = append(r.order, nr)
		if n.Excluded {
			continue
		}
		if n.Action.Spends() {
			nr.unsubmitted = true
			r.unsubmitted.Add(1)
		}
		for _, d := range n.Deps {
			r.dependents[d]++
		}
	}
	return r
}

// submittedOrGone marks that nr needs no submit any more.
func (r *run) submittedOrGone(nr *nodeRun) {
	if nr.unsubmitted {
		nr.unsubmitted = false
		r.unsubmitted.Add(-1)
	}
}

// forget drops the records of assets no longer in the spec; their files stay.
func (r *run) forget() error {
	if len(r.plan.Forget) == 0 {
		return nil
	}
	return r.opts.Store.Edit(r.plan.Forget, func(st *state.State) error {
		for _, addr := range r.plan.Forget {
			delete(st.Assets, addr)
		}
		return nil
	})
}

func (r *run) emit(addr string, p Phase, msg string, cost *int) {
	now := r.clock.Now()
	r.opts.Observer.Event(Event{Time: now, Addr: addr, Phase: p, Elapsed: now.Sub(r.start), Message: msg, CostCents: cost})
}

func (r *run) stopping() (bool, string) {
	select {
	case <-r.stopCh:
		return true, "not submitted: apply was interrupted"
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.creditsStop {
		return true, "not submitted: insufficient credits"
	}
	return false, ""
}

func (nr *nodeRun) finish(o Outcome, msg string) {
	nr.outcome, nr.message = o, msg
}

// runNode drives one node to its outcome. It returns an error only for
// failures that must stop the whole run.
func (r *run) runNode(ctx context.Context, nr *nodeRun) error {
	defer close(nr.done)
	defer r.submittedOrGone(nr)
	n := nr.node
	if n.Excluded {
		nr.finish(OutcomeExcluded, "")
		return nil
	}
	if cause := r.waitDeps(ctx, nr); cause != "" {
		nr.finish(OutcomeSkipped, cause)
		r.emit(n.Addr, PhaseSkipped, cause, nil)
		return nil
	}
	switch n.Action {
	case planner.ActionNoop:
		nr.finish(OutcomeUnchanged, "")
		return nil
	case planner.ActionUnknown:
		nr.finish(OutcomeUnknown, n.Reason)
		r.emit(n.Addr, PhaseUnknown, n.Reason, nil)
		return nil
	case planner.ActionResume:
		r.emit(n.Addr, PhaseQueued, "resuming task "+n.Prior.TaskID, nil)
		return r.track(ctx, nr, n.Prior.Clone(), n.Prior.SubmittedAt, false)
	case planner.ActionDownload:
		r.emit(n.Addr, PhaseQueued, "downloading again", nil)
		return r.complete(ctx, nr, n.Prior.Clone(), outputURLs(n.Prior))
	default:
		return r.generate(ctx, nr)
	}
}

// waitDeps blocks until every dependency is done. It returns why the node
// must be skipped, or "". A node whose dependency was never submitted
// (credits ran out, or apply was interrupted) is itself not submitted, so
// that the shortfall counts it; a dependency still generating when apply
// stopped is not a failure.
func (r *run) waitDeps(ctx context.Context, nr *nodeRun) string {
	for _, d := range nr.node.Deps {
		dep, ok := r.nodes[d]
		if !ok {
			continue
		}
		select {
		case <-dep.done:
		case <-ctx.Done():
			return "not started: apply stopped"
		}
		switch {
		case dep.outcome == OutcomeDone || dep.outcome == OutcomeUnchanged:
		case dep.notSubmitted:
			nr.notSubmitted = true
			if stop, why := r.stopping(); stop {
				return why
			}
			return fmt.Sprintf("not submitted: %s was not submitted", d)
		case dep.outcome == OutcomeSkipped:
			return dep.message // already names the root cause
		case dep.outcome == OutcomeGenerating:
			return fmt.Sprintf("not started: %s is still generating; apply again to resume", d)
		default:
			return fmt.Sprintf("upstream failed: %s is %s", d, dep.outcome)
		}
	}
	return ""
}

func outputURLs(a *state.Asset) []string {
	urls := make([]string, len(a.Outputs))
	for i, o := range a.Outputs {
		urls[i] = o.URL
	}
	return urls
}

// acquire takes a parallelism slot; release gives it back.
func (r *run) acquire(ctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *run) release() { <-r.slots }

// resolve evaluates the node's parameters with the real upstream results.
func (r *run) resolve(n *planner.Node) (planner.Request, error) {
	r.scopeMu.Lock()
	params, _, diags := r.plan.Scope.Eval(n.Instance)
	r.scopeMu.Unlock()
	if diags.HasErrors() {
		return planner.Request{}, fmt.Errorf("evaluate %s: %s", n.Addr, diags.Error())
	}
	req, err := planner.RequestFromParams(n.Kind, params)
	if err != nil {
		return planner.Request{}, fmt.Errorf("evaluate %s: %w", n.Addr, err)
	}
	return req, nil
}

// setResult publishes a finished node's results to its dependents.
func (r *run) setResult(addr string, a *state.Asset) {
	r.scopeMu.Lock()
	defer r.scopeMu.Unlock()
	r.plan.Scope.SetResult(addr, planner.ResultFromState(a))
}

// record writes one asset record durably, as one journal record: its cost
// does not grow with the state. extra may change the model statistics and
// the balance; the State it gets holds no other asset.
func (r *run) record(a *state.Asset, extra func(st *state.State)) error {
	rec := a.Clone()
	err := r.opts.Store.Edit([]string{rec.Address}, func(st *state.State) error {
		st.Assets[rec.Address] = rec
		if extra != nil {
			extra(st)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %s in state: %w", a.Address, err)
	}
	return nil
}

func (r *run) elapsedKey(n *planner.Node, req planner.Request) string {
	return planner.PriceKey(n.Kind, req.Duration())
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
