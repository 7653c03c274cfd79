package bench

import (
	"context"
	"fmt"
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
func runXpflow(ctx context.Context, cfg Config, c clock.Clock, dir string, cat *xpilot.Catalog, seed int64, replaceAll bool) (Result, error) {
	env := startSim(c, seed, cfg.PerMinute)
	defer env.close()
	client, err := env.client(c, cfg.PerMinute)
	if err != nil {
		return Result{}, err
	}
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
	t0 := c.Now()
	sum, err := executor.Run(ctx, plan, executor.Options{Client: client, Store: store, Clock: c})
	res := Result{Makespan: c.Now().Sub(t0)}
	if err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	if !sum.OK() {
		return res, fmt.Errorf("apply did not finish: %v", sum.Failed())
	}
	tally(&res, env.rec)
	lat, err := probeLatencies(seed, env.rec.generates())
	if err != nil {
		return res, err
	}
	tasks, addrOf := boundTasks(plan, store.Snapshot(), lat)
	if res.Bounds, err = Bound(tasks, cfg.PerMinute); err != nil {
		return res, err
	}
	res.Diag = diagnose(trace(env.rec, t0, lat, addrOf))
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
