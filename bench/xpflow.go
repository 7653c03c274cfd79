package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// runXpflow plans and applies the campaign in dir against a fresh
// simulator seeded with seed, the way apply does. With replaceAll, every
// address in the state is passed as -replace, so everything is generated
// again with the latencies learned by earlier runs.
func runXpflow(ctx context.Context, cfg Config, c clock.Clock, sc Scenario, dir string, cat *xpilot.Catalog, seed int64, replaceAll bool) (Result, error) {
	env := startSim(c, seed, cfg.PerMinute, sc)
	defer env.close()
	client, err := env.client(c, cfg.PerMinute)
	if err != nil {
		return Result{}, err
	}
	return applyOn(ctx, cfg, c, env, client, sc, dir, cat, replaceAll)
}

// runXpflowPair applies the campaign in dir twice on one simulator and one
// client, the second time with every prompt changed and nothing between
// the two: the second run starts with the first one's requests in the
// window, and with the latencies it learned.
func runXpflowPair(ctx context.Context, cfg Config, c clock.Clock, sc Scenario, dir string, cat *xpilot.Catalog, seed int64) (first, second Result, err error) {
	env := startSim(c, seed, cfg.PerMinute, sc)
	defer env.close()
	client, err := env.client(c, cfg.PerMinute)
	if err != nil {
		return first, second, err
	}
	if first, err = applyOn(ctx, cfg, c, env, client, sc, dir, cat, false); err != nil {
		return first, second, err
	}
	if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(sc.hcl(" (take 2)")), 0o644); err != nil {
		return first, second, err
	}
	second, err = applyOn(ctx, cfg, c, env, client, sc, dir, cat, false)
	return first, second, err
}

// applyOn plans and applies the campaign in dir with client against env,
// and measures the run against the bound of the tasks it created, given
// the requests already in the window.
func applyOn(ctx context.Context, cfg Config, c clock.Clock, env *simEnv, client *xpilot.Client, sc Scenario, dir string, cat *xpilot.Catalog, replaceAll bool) (Result, error) {
	sp, diags := spec.Load(dir, spec.LoadOptions{})
	if diags.HasErrors() {
		return Result{}, fmt.Errorf("load %s: %s", dir, diags.Error())
	}
	store, err := state.Open(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		return Result{}, err
	}
	defer store.Close()
	opts := planner.Options{Catalog: cat, State: store.Snapshot()}
	if replaceAll {
		for addr := range opts.State.Assets {
			opts.Replace = append(opts.Replace, addr)
		}
		sort.Strings(opts.Replace)
	}
	plan, diags := planner.Build(sp, opts)
	if diags.HasErrors() {
		return Result{}, fmt.Errorf("plan %s: %s", dir, diags.Error())
	}
	base := env.rec.snapshot()
	t0 := c.Now()
	sum, err := executor.Run(ctx, plan, executor.Options{Client: client, Store: store, Clock: c})
	res := Result{Makespan: c.Now().Sub(t0)}
	if err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	if !sum.OK() {
		return res, fmt.Errorf("apply did not finish: %v", sum.Failed())
	}
	tally(&res, env.rec, base, t0)
	lat, err := probeLatencies(env.seed, env.rec.generates(), sc)
	if err != nil {
		return res, err
	}
	snap := store.Snapshot()
	tasks, addrOf := boundTasks(plan, snap, lat)
	if res.Bounds, err = BoundAfter(tasks, cfg.PerMinute, env.rec.before(t0)); err != nil {
		return res, err
	}
	traces := trace(env.rec, t0, lat, addrOf)
	res.Trace = traceLines(traces)
	res.Diag = diagnose(traces)
	res.Estimate = estimateCheck(sc, snap)
	return res, nil
}

// boundTasks turns the plan into bound tasks, with the latency of the task
// each asset ended up with. It also maps task ids to addresses.
func boundTasks(plan *planner.Plan, st *state.State, lat map[string]time.Duration) ([]BoundTask, map[string]string) {
	addrOf := map[string]string{}
	var tasks []BoundTask
	for _, n := range plan.Nodes {
		t := BoundTask{Addr: n.Addr, Deps: n.Deps}
		if a := st.Assets[n.Addr]; a != nil && a.TaskID != "" {
			addrOf[a.TaskID] = n.Addr
			t.Latency, t.Async = lat[a.TaskID]
		}
		tasks = append(tasks, t)
	}
	return tasks, addrOf
}

// estimateQuantiles are the quantiles estimateCheck compares.
var estimateQuantiles = []float64{0.25, 0.5, 0.75, 0.9}

// EstimateCheck compares the latency quantiles xpflow estimates from the
// intervals in its state with those of the simulator's true distribution
// (uniform over the scenario's range).
type EstimateCheck struct {
	Model     string
	Estimated []float64 // seconds, at estimateQuantiles
	True      []float64
}

// MaxError is the largest relative error over the quantiles.
func (e EstimateCheck) MaxError() float64 {
	worst := 0.0
	for i := range e.True {
		worst = max(worst, abs(e.Estimated[i]-e.True[i])/e.True[i])
	}
	return worst
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// estimateCheck checks the estimate of a scenario made of one block of
// videos; nil for other scenarios.
func estimateCheck(sc Scenario, st *state.State) *EstimateCheck {
	if len(sc.Blocks) != 1 || sc.Blocks[0].Kind != "video" {
		return nil
	}
	b := sc.Blocks[0]
	video, _ := sc.latencies()
	d, n := executor.NewLatencies(st).Estimate(spec.KindVideo, b.Model, planner.PriceKey(spec.KindVideo, b.Duration))
	if n == 0 {
		return nil
	}
	e := &EstimateCheck{Model: b.Model}
	for _, q := range estimateQuantiles {
		e.Estimated = append(e.Estimated, d.Quantile(q))
		e.True = append(e.True, (video.Lo + time.Duration(q*float64(video.Hi-video.Lo))).Seconds())
	}
	return e
}
