package report

// Planned is what the plan says about one asset instance of the spec. The
// command fills it from the planner, so the page can show assets that
// have no record in the state (never generated, skipped, or stopped by an
// error in the spec) and what the next apply would do with each.
type Planned struct {
	Address string
	Kind    string
	Model   string
	// Action is the planner's action (create, replace, noop, ...); empty
	// when the spec could not evaluate the asset, and Error says why.
	Action string
	// Reason explains the action; Changes list the parameters that
	// changed since the recorded request, as "name: old → new".
	Reason  string
	Changes []string
	Error   string
	// Deps are the instance addresses the asset reads from.
	Deps []string
	// EstimatedCents is the estimated price of one generation, meaningful
	// when Priced; Observed says it is what the API charged before rather
	// than the catalog's price.
	EstimatedCents   int
	Priced, Observed bool
	// Prompt, System and Params are the evaluated request parameters;
	// values known only after apply read "(known after apply)".
	Prompt, System string
	Params         map[string]string
}

// spends reports whether the action submits a new, paid generation.
func (p *Planned) spends() bool {
	switch p.Action {
	case "create", "replace", "retry":
		return true
	}
	return false
}
