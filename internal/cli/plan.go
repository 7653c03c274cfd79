package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// planFlags are shared by plan and apply.
type planFlags struct {
	specFlags
	simulate  bool
	statePath string
	targets   multiFlag
	replace   multiFlag
}

func (f *planFlags) register(fs *flag.FlagSet) {
	f.specFlags.register(fs)
	fs.BoolVar(&f.simulate, "simulate", false, "use a built-in xPilot simulator on loopback (no key, no network, no cost)")
	fs.StringVar(&f.statePath, "state", "", "state file (default DIR/xpflow.state.json; DIR/xpflow.simulate.state.json with -simulate)")
	fs.Var(&f.targets, "target", "limit to this asset and what it depends on (repeatable)")
	fs.Var(&f.replace, "replace", "generate this asset again even if it is done (repeatable)")
}

func runValidate(env *Env, args []string) error {
	fs := newFlags(env, "validate", "[DIR|FILE]")
	var f specFlags
	f.register(fs)
	asJSON := fs.Bool("json", false, "print {valid, error_count, warning_count, diagnostics, instances} as JSON (see docs/cli.md)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *asJSON {
		return validateJSON(env, fs, &f)
	}
	p, err := offlinePlan(env, fs, &f)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "The spec is valid: %s.\n", plural(len(p.Nodes), "asset instance", "asset instances"))
	return nil
}

// offlinePlan loads the spec named by fs's argument and plans it without
// the API (no catalog, no state), printing diagnostics.
func offlinePlan(env *Env, fs *flag.FlagSet, f *specFlags) (*planner.Plan, error) {
	dir, err := oneArg(fs)
	if err != nil {
		return nil, err
	}
	sp, err := loadSpec(env, dir, f)
	if err != nil {
		return nil, err
	}
	p, diags := planner.Build(sp, planner.Options{})
	if err := printDiags(env, sp, diags); err != nil {
		return nil, err
	}
	return p, nil
}

// planned is a plan with what made it, for plan and apply.
type planned struct {
	spec    *spec.Spec
	plan    *planner.Plan
	catalog *xpilot.Catalog
	state   *state.State
}

// makePlan fetches the catalog (one request) and builds the plan against
// st. It prints diagnostics and fails on errors.
func makePlan(ctx context.Context, env *Env, sp *spec.Spec, c *conn, st *state.State, f *planFlags) (*planned, error) {
	cat, err := c.client.Models(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch the model catalog: %w", err)
	}
	p, diags := planner.Build(sp, planner.Options{Catalog: cat, State: st, Replace: f.replace, Targets: f.targets})
	if err := printDiags(env, sp, diags); err != nil {
		return nil, err
	}
	return &planned{spec: sp, plan: p, catalog: cat, state: st}, nil
}

func runPlan(env *Env, args []string) error {
	fs := newFlags(env, "plan", "[DIR]")
	var f planFlags
	f.register(fs)
	asJSON := fs.Bool("json", false, "print the plan as one JSON object (see docs/cli.md)")
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 with no changes, 1 on error, 2 with changes")
	out := fs.String("out", "", "save the plan to this file for 'xpflow apply FILE'")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	sp, err := loadSpec(env, dir, &f.specFlags)
	if err != nil {
		return err
	}
	// A saved plan names the state file it was made from; a plan made
	// from a Postgres campaign names none, and applies to the campaign.
	statePath := f.statePath
	if statePath == "" && !usePostgres(sp, "", f.simulate) {
		statePath = defaultStatePath(sp, f.simulate)
	}
	st, err := readState(env, sp, f.statePath, f.simulate)
	if err != nil {
		return err
	}
	c, err := connect(env, sp, f.simulate, st.Lineage)
	if err != nil {
		return err
	}
	defer c.Close()
	pl, err := makePlan(context.Background(), env, sp, c, st, &f)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writePlanJSON(env.Stdout, pl.plan); err != nil {
			return err
		}
	} else {
		renderPlan(redactSensitive(env.Stdout, sp), pl.plan, useColor(env))
	}
	if *out != "" {
		if err := savePlanFile(*out, pl, &f, statePath); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(env.Stdout, "\nSaved the plan to %s. Apply exactly it with: %s\n", *out, hint(env, "apply", *out))
		}
	}
	if *detailed && pl.plan.HasChanges() {
		return silent(ExitChanges)
	}
	return nil
}

// jsonPlan is the documented -json contract (format_version 1; fields
// are only ever added).
type jsonPlan struct {
	FormatVersion      string      `json:"format_version"`
	Assets             []jsonAsset `json:"assets"`
	EstimatedCostCents int         `json:"estimated_cost_cents"`
	UnpricedAssets     int         `json:"unpriced_assets"`
	CostBreakdown      []costRow   `json:"cost_breakdown"`
}

type jsonAsset struct {
	Address            string   `json:"address"`
	Kind               string   `json:"kind"`
	Model              string   `json:"model"`
	Action             string   `json:"action"`
	EstimatedCostCents *int     `json:"estimated_cost_cents"`
	DependsOn          []string `json:"depends_on"`
	// Reason says why the asset has its action: "new in the spec", "the
	// request changed", "forced by -replace", "a local file is missing or
	// changed", ...; "" for noop.
	Reason string `json:"reason"`
	// Changes are the request attributes that differ from the recorded
	// request, with their values before and after ("(known after apply)"
	// when an upstream output decides it).
	Changes []jsonChange `json:"changes"`
	// PriceSource is "catalog", "observed" (what earlier runs were charged)
	// or "none" (unpriced); "" when the action spends nothing.
	PriceSource string `json:"price_source"`
}

type jsonChange struct {
	Attribute string `json:"attribute"`
	Before    string `json:"before"`
	After     string `json:"after"`
}

func planJSON(p *planner.Plan) jsonPlan {
	out := jsonPlan{FormatVersion: "1", Assets: []jsonAsset{}, EstimatedCostCents: p.EstimatedCents, UnpricedAssets: p.Unpriced,
		CostBreakdown: costBreakdown(p, p.State)}
	for _, n := range p.Nodes {
		if n.Excluded {
			continue
		}
		a := jsonAsset{Address: n.Addr, Kind: string(n.Kind), Model: n.Model, Action: string(n.Action), DependsOn: n.Deps,
			Reason: actionReason(n), Changes: []jsonChange{}}
		if a.DependsOn == nil {
			a.DependsOn = []string{}
		}
		for _, c := range n.Changes {
			a.Changes = append(a.Changes, jsonChange{Attribute: c.Param, Before: c.Old, After: c.New})
		}
		switch {
		case !n.Action.Spends():
			zero := 0
			a.EstimatedCostCents = &zero
		case n.Cost.Priced:
			c := n.Cost.Cents
			a.EstimatedCostCents = &c
		}
		if n.Action.Spends() {
			a.PriceSource = priceSource(n.Cost)
		}
		out.Assets = append(out.Assets, a)
	}
	for _, addr := range p.Forget {
		zero := 0
		out.Assets = append(out.Assets, jsonAsset{Address: addr, Action: string(planner.ActionForget), EstimatedCostCents: &zero,
			DependsOn: []string{}, Changes: []jsonChange{}, Reason: "no longer in the spec"})
	}
	return out
}

// actionReason is the node's reason, with the ones the planner leaves
// implicit spelled out.
func actionReason(n *planner.Node) string {
	switch {
	case n.Reason != "":
		return n.Reason
	case n.Action == planner.ActionCreate:
		return "not generated yet"
	}
	return ""
}

func priceSource(c planner.Cost) string {
	switch {
	case !c.Priced:
		return "none"
	case c.Observed:
		return "observed"
	}
	return "catalog"
}

func writePlanJSON(w interface{ Write([]byte) (int, error) }, p *planner.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(planJSON(p))
}
