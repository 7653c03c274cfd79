package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// Action is what apply will do with one asset instance. The vocabulary is
// shared by plan, apply, the JSON output and the state.
type Action string

// The actions.
const (
	ActionCreate   Action = "create"   // no record: generate
	ActionReplace  Action = "replace"  // the request changed, or -replace: generate again
	ActionResume   Action = "resume"   // submitted, not finished: poll the recorded poll_url
	ActionRetry    Action = "retry"    // failed last time: generate again
	ActionDownload Action = "download" // completed, local file missing: fetch again at no cost
	ActionNoop     Action = "noop"     // completed and files intact: nothing to do
	ActionForget   Action = "forget"   // in state but no longer in the spec: drop the record
	ActionUnknown  Action = "unknown"  // a generate POST whose outcome was never recorded
	// ActionExpired: completed and paid, but an output's link expired
	// before its file was downloaded. Nothing apply can do: only -replace
	// (a new, paid generation) gets the output.
	ActionExpired Action = "expired"
)

// Idle reports whether apply has nothing to do for the action: the asset
// is up to date, or its output can no longer be had without -replace.
func (a Action) Idle() bool {
	return a == ActionNoop || a == ActionExpired
}

// Spends reports whether the action submits a new generation.
func (a Action) Spends() bool {
	return a == ActionCreate || a == ActionReplace || a == ActionRetry
}

// Options are the inputs of Build besides the spec.
type Options struct {
	// Catalog is the model catalog; nil skips every model check (validate).
	Catalog *xpilot.Catalog
	// State is the last recorded state; nil means none.
	State *state.State
	// Replace forces these instance or asset addresses to be generated again.
	Replace []string
	// Targets limits the plan to these addresses and what they depend on.
	Targets []string
	// FileIntact reports whether a recorded output file is present with its
	// recorded digest. Nil uses a sha256 check of the file under the spec dir.
	FileIntact func(dir string, out state.Output) bool
}

// Cost is the estimated price of one node.
type Cost struct {
	Cents  int
	Priced bool
	// Observed is true when the price comes from what a past run was
	// charged rather than from the catalog.
	Observed bool
}

// Change is one request parameter that differs from the recorded request.
type Change struct {
	Param string
	Old   string
	New   string
}

// Node is one asset instance in the plan.
type Node struct {
	Instance *spec.Instance
	Addr     string
	Kind     spec.Kind
	Model    string
	// Params are the evaluated parameters; values that depend on results
	// not yet known are unknown.
	Params map[string]cty.Value
	// Deps are the instance addresses this node reads from, sorted.
	Deps    []string
	Action  Action
	Reason  string
	Changes []Change
	Cost    Cost
	// Excluded is true when -target leaves the node out of this run.
	Excluded bool
	// Prior is the state record, nil when there is none.
	Prior *state.Asset
}

// Plan is the result of Build.
type Plan struct {
	Spec  *spec.Spec
	Scope *spec.Scope
	// Nodes are in dependency order (every node after its dependencies).
	Nodes  []*Node
	byAddr map[string]*Node
	// Forget lists state addresses no longer in the spec.
	Forget []string
	// EstimatedCents is the priced sum over nodes that spend; Unpriced counts
	// spending nodes whose model has no known price.
	EstimatedCents int
	Unpriced       int
	// State is the state the plan was made from (never nil), for what was
	// spent so far.
	State *state.State
	// StateLineage and StateSerial identify the state the plan was made from.
	StateLineage string
	StateSerial  uint64
}

// Node returns the node at addr.
func (p *Plan) Node(addr string) (*Node, bool) {
	n, ok := p.byAddr[addr]
	return n, ok
}

// Counts returns how many included nodes have each action, plus forgets.
func (p *Plan) Counts() map[Action]int {
	c := map[Action]int{}
	for _, n := range p.Nodes {
		if !n.Excluded {
			c[n.Action]++
		}
	}
	c[ActionForget] += len(p.Forget)
	return c
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool {
	for a, n := range p.Counts() {
		if !a.Idle() && n > 0 {
			return true
		}
	}
	return false
}

// Build evaluates every asset instance in dependency order and decides its
// action and cost. Diagnostics carry source ranges for everything the user
// wrote; a plan with error diagnostics must not be applied.
func Build(sp *spec.Spec, opts Options) (*Plan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	st := opts.State
	if st == nil {
		st = state.New()
	}
	insts, d := sp.Expand()
	diags = append(diags, d...)
	order, d := blockOrder(sp)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	p := &Plan{Spec: sp, Scope: sp.NewScope(insts), byAddr: map[string]*Node{},
		State: st, StateLineage: st.Lineage, StateSerial: st.Serial}
	byBlock := map[string][]*spec.Instance{}
	for _, in := range insts {
		byBlock[in.Asset.Addr()] = append(byBlock[in.Asset.Addr()], in)
	}
	b := &builder{plan: p, opts: opts, state: st, replace: addrMatcher(opts.Replace)}
	for _, block := range order {
		for _, in := range byBlock[block] {
			diags = append(diags, b.node(in)...)
		}
	}
	for _, addr := range sortedKeys(st.Assets) {
		if _, ok := p.byAddr[addr]; ok || len(opts.Targets) > 0 {
			continue
		}
		if a := st.Assets[addr]; a.Status == state.StatusIntent || a.Status == state.StatusSubmitted {
			diags = append(diags, keptInFlight(a))
			continue
		}
		p.Forget = append(p.Forget, addr)
	}
	diags = append(diags, p.checkAddrs("-target", opts.Targets)...)
	diags = append(diags, p.checkAddrs("-replace", opts.Replace)...)
	if diags.HasErrors() {
		return p, diags
	}
	diags = append(diags, b.applyTargets()...)
	for _, n := range p.Nodes {
		if n.Excluded || !n.Action.Spends() {
			continue
		}
		if n.Cost.Priced {
			p.EstimatedCents += n.Cost.Cents
		} else {
			p.Unpriced++
		}
	}
	diags = append(diags, p.budgetDiags()...)
	return p, diags
}

// keptInFlight warns that a record no longer in the spec is kept, because
// forgetting it would lose a generation that is (or may be) paid for.
func keptInFlight(a *state.Asset) *hcl.Diagnostic {
	what := "its generate request was sent but never answered, so it may have been charged"
	if a.Status == state.StatusSubmitted {
		what = "task " + a.TaskID + " is paid for and still generating"
	}
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Keeping " + a.Address + " in state",
		Detail: a.Address + " is no longer in the spec, but " + what + ". Its record is kept so nothing paid is lost; " +
			"put it back in the spec to finish it, or drop it with: xpflow state rm '" + a.Address + "'"}
}

func (p *Plan) budgetDiags() hcl.Diagnostics {
	max := p.Spec.Settings.MaxCostCents
	if max == nil || p.EstimatedCents <= *max {
		return nil
	}
	rng := p.Spec.Settings.MaxCostRange
	if rng.Filename == "" {
		rng = p.Spec.Settings.DeclRange
	}
	detail := fmt.Sprintf("The plan is estimated at %s, above max_cost_cents = %d (%s).", dollars(p.EstimatedCents), *max, dollars(*max))
	if p.Unpriced > 0 {
		detail = fmt.Sprintf("The priced part of the plan alone is estimated at %s, above max_cost_cents = %d (%s); %d more assets have no known price.",
			dollars(p.EstimatedCents), *max, dollars(*max), p.Unpriced)
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Estimated cost exceeds max_cost_cents",
		Detail:   detail + " Raise the limit, or generate fewer or cheaper assets (-target limits a run).",
		Subject:  &rng,
	}}
}

// dollars writes cents as "$12.34", as the CLI does.
func dollars(c int) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// builder carries what every node decision needs.
type builder struct {
	plan    *Plan
	opts    Options
	state   *state.State
	replace func(addr string) bool
}

func (b *builder) node(in *spec.Instance) hcl.Diagnostics {
	p := b.plan
	params, deps, diags := p.Scope.Eval(in)
	p.Scope.SetInputs(in.Addr, params)
	sort.Strings(deps)
	n := &Node{Instance: in, Addr: in.Addr, Kind: in.Asset.Kind, Params: params, Deps: deps,
		Prior: b.state.Assets[in.Addr]}
	p.Nodes = append(p.Nodes, n)
	p.byAddr[n.Addr] = n
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, b.checkModel(n)...)
	b.decide(n)
	if n.Action == ActionNoop || n.Action == ActionDownload || n.Action == ActionExpired {
		p.Scope.SetResult(n.Addr, ResultFromState(n.Prior))
	}
	n.Cost = b.estimate(n)
	if n.Action == ActionExpired {
		if n.Cost.Priced {
			n.Reason += fmt.Sprintf(" (about $%d.%02d)", n.Cost.Cents/100, n.Cost.Cents%100)
		} else {
			n.Reason += " (its price is unknown)"
		}
	}
	describeUnknown(n)
	return diags
}

// decide sets the node's action from the prior record and its request.
func (b *builder) decide(n *Node) {
	prior := n.Prior
	known := allKnown(n.Params)
	var hash string
	if known {
		if req, err := RequestFromParams(n.Kind, n.Params); err == nil {
			hash = req.Hash()
			n.Changes = diffRequest(prior, req.Normalized())
		}
	} else {
		n.Changes = diffRequest(prior, unknownNormalized(n.Kind, n.Params))
	}
	switch {
	case prior == nil:
		n.Action = ActionCreate
	case b.replace(n.Addr):
		n.Action, n.Reason = ActionReplace, "forced by -replace"
	case prior.Status == state.StatusIntent:
		n.Action = ActionUnknown
		n.Reason = "a generate request was sent but its answer was never recorded; it may have been charged. Apply will not resend it on its own: use -replace " + n.Addr + " to generate it again"
	case prior.Status == state.StatusSubmitted && prior.PollURL == "":
		n.Action = ActionUnknown
		n.Reason = "the state records task " + prior.TaskID + " as generating but holds no poll_url to follow it; use -replace " + n.Addr + " to generate it again"
	case prior.Status == state.StatusSubmitted:
		// A paid task in flight is finished first, even when the request
		// changed since: replacing it now would throw away what was paid.
		n.Action, n.Reason = ActionResume, "generating since the last run"
		if !known || hash != prior.RequestHash {
			n.Reason += "; its request has changed since, so the apply after this one will replace it (or use -replace " + n.Addr + " now)"
		}
	case !known:
		n.Action, n.Reason = ActionReplace, "an upstream output will change"
		if ups := b.changingDeps(n); len(ups) > 0 {
			n.Reason += ": " + strings.Join(ups, ", ")
		}
	case hash != prior.RequestHash:
		n.Action, n.Reason = ActionReplace, "the request changed"
		if len(n.Changes) > 0 {
			names := make([]string, len(n.Changes))
			for i, c := range n.Changes {
				names[i] = c.Param
			}
			n.Reason += ": " + strings.Join(names, ", ")
		}
	case prior.Status == state.StatusFailed:
		n.Action, n.Reason = ActionRetry, "failed last time: "+prior.Error
	case expiredOnly(prior, b.fileCheck(), b.plan.Spec.Dir):
		n.Action = ActionExpired
		n.Reason = "paid and recorded (task " + prior.TaskID + "), but its output link expired before the file was downloaded, " +
			"so it cannot be fetched again; -replace " + n.Addr + " generates it again"
	case !b.filesIntact(prior):
		n.Action, n.Reason = ActionDownload, "a local file is missing or changed"
	default:
		n.Action = ActionNoop
	}
	if n.Action == ActionNoop || n.Action == ActionResume || n.Action == ActionDownload || n.Action == ActionExpired {
		n.Changes = nil
	}
}

// changingDeps lists the dependencies of n that this plan generates again.
func (b *builder) changingDeps(n *Node) []string {
	var out []string
	for _, d := range n.Deps {
		if dn, ok := b.plan.byAddr[d]; ok && dn.Action.Spends() {
			out = append(out, d)
		}
	}
	return out
}

// fileCheck is the check of one recorded output file.
func (b *builder) fileCheck() func(dir string, out state.Output) bool {
	if b.opts.FileIntact != nil {
		return b.opts.FileIntact
	}
	return FileIntact
}

// expiredOnly reports whether a's outputs that are not intact are all
// recorded as expired, and there is at least one: a download cannot help.
func expiredOnly(a *state.Asset, check func(string, state.Output) bool, dir string) bool {
	expired := false
	for _, o := range a.Outputs {
		switch {
		case o.Expired && o.File == "":
			expired = true
		case !check(dir, o):
			return false // a download can still fetch this one
		}
	}
	return expired
}

func (b *builder) filesIntact(a *state.Asset) bool {
	check := b.fileCheck()
	for _, o := range a.Outputs {
		if !check(b.plan.Spec.Dir, o) {
			return false
		}
	}
	return true
}

func allKnown(params map[string]cty.Value) bool {
	for _, v := range params {
		if !v.IsWhollyKnown() {
			return false
		}
	}
	return true
}

// ResultFromState converts a completed record into the results downstream
// expressions read.
func ResultFromState(a *state.Asset) spec.Result {
	r := spec.Result{URLs: []string{}, Files: []string{}}
	if a == nil {
		return r
	}
	content, task, cost := a.Content, a.TaskID, 0
	if a.CostCents != nil {
		cost = *a.CostCents
	}
	r.Content, r.TaskID, r.CostCents = &content, &task, &cost
	for _, o := range a.Outputs {
		r.URLs = append(r.URLs, o.URL)
		r.Files = append(r.Files, o.File)
	}
	return r
}

// addrMatcher matches instance addresses against a list of instance or
// asset addresses (video.spot matches video.spot["x"]).
func addrMatcher(list []string) func(string) bool {
	set := map[string]bool{}
	for _, a := range list {
		set[a] = true
	}
	return func(addr string) bool {
		if set[addr] {
			return true
		}
		if i := strings.IndexByte(addr, '['); i > 0 {
			return set[addr[:i]]
		}
		return false
	}
}

// applyTargets marks nodes outside the targets and their dependencies as
// excluded, and reports targets that match nothing.
func (b *builder) applyTargets() hcl.Diagnostics {
	if len(b.opts.Targets) == 0 {
		return nil
	}
	var diags hcl.Diagnostics
	match := addrMatcher(b.opts.Targets)
	keep := map[string]bool{}
	var visit func(addr string)
	visit = func(addr string) {
		if keep[addr] {
			return
		}
		keep[addr] = true
		if n, ok := b.plan.byAddr[addr]; ok {
			for _, d := range n.Deps {
				visit(d)
			}
		}
	}
	for _, n := range b.plan.Nodes {
		if match(n.Addr) {
			visit(n.Addr)
		}
	}
	for _, n := range b.plan.Nodes {
		n.Excluded = !keep[n.Addr]
	}
	return diags
}
