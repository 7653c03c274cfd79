package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand"
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
	res.Estimate = estimateCheck(sc, snap, asyncOf(lat, addrOf))
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
// (uniform over the scenario's range), and with those of the latencies the
// run's own tasks really had. A run of a few tasks is a small sample: its
// own quantiles stray from the distribution's whatever the estimator does,
// and Floor measures by how much.
type EstimateCheck struct {
	Model     string
	Estimated []float64 // seconds, at estimateQuantiles
	True      []float64 // the distribution's
	Sample    []float64 // the run's tasks' true latencies'
	N         int       // how many tasks the run had
	Lo, Hi    float64   // the distribution's range, seconds
}

// MaxError is the largest relative error of the estimate against the true
// distribution over the quantiles.
func (e EstimateCheck) MaxError() float64 { return maxRelError(e.Estimated, e.True) }

// SampleError is the largest relative error of the estimate against the
// run's own latencies: what censored polls cost, sampling aside.
func (e EstimateCheck) SampleError() float64 { return maxRelError(e.Estimated, e.Sample) }

// SamplingError is the largest relative error of the run's own latencies
// against the distribution: what an estimator that saw every latency
// exactly would be off by.
func (e EstimateCheck) SamplingError() float64 { return maxRelError(e.Sample, e.True) }

func maxRelError(got, want []float64) float64 {
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(got[i]-want[i])/want[i])
	}
	return worst
}

// estimateCheck checks the estimate of a scenario made of one block of
// videos, given the true latency of each task (lat); nil for other
// scenarios.
func estimateCheck(sc Scenario, st *state.State, lat map[string]time.Duration) *EstimateCheck {
	if len(sc.Blocks) != 1 || sc.Blocks[0].Kind != "video" {
		return nil
	}
	b := sc.Blocks[0]
	video, _ := sc.latencies()
	d, n := executor.NewLatencies(st).Estimate(spec.KindVideo, b.Model, planner.PriceKey(spec.KindVideo, b.Duration))
	if n == 0 || len(lat) == 0 {
		return nil
	}
	var own []float64
	for _, l := range lat {
		own = append(own, l.Seconds())
	}
	sort.Float64s(own)
	e := &EstimateCheck{Model: b.Model, N: len(own), Lo: video.Lo.Seconds(), Hi: video.Hi.Seconds()}
	for _, q := range estimateQuantiles {
		e.Estimated = append(e.Estimated, d.Quantile(q))
		e.True = append(e.True, e.Lo+q*(e.Hi-e.Lo))
		e.Sample = append(e.Sample, sampleQuantile(own, q))
	}
	return e
}

// sampleQuantile is the q-quantile of the sorted sample xs, interpolated
// between order statistics (Hyndman and Fan's type 7, R's default).
func sampleQuantile(xs []float64, q float64) float64 {
	h := float64(len(xs)-1) * q
	i := int(h)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

// Floor draws samples of n latencies uniform over [lo, hi] (seeded) and
// returns how often an estimator that saw every latency of the sample
// exactly would come within tol of the true quantiles at all of
// estimateQuantiles, and the median of its largest relative error.
func Floor(n int, lo, hi, tol float64, draws int, seed int64) (within, medianErr float64) {
	rng := rand.New(rand.NewSource(seed))
	errs := make([]float64, draws)
	xs := make([]float64, n)
	want := make([]float64, len(estimateQuantiles))
	got := make([]float64, len(estimateQuantiles))
	for j, q := range estimateQuantiles {
		want[j] = lo + q*(hi-lo)
	}
	ok := 0
	for k := range errs {
		for i := range xs {
			xs[i] = lo + rng.Float64()*(hi-lo)
		}
		sort.Float64s(xs)
		for j, q := range estimateQuantiles {
			got[j] = sampleQuantile(xs, q)
		}
		worst := maxRelError(got, want)
		errs[k] = worst
		if worst <= tol {
			ok++
		}
	}
	sort.Float64s(errs)
	return float64(ok) / float64(draws), errs[draws/2]
}

// asyncOf keeps the latencies of the tasks the run's state holds (addrOf's
// keys): a simulator shared by two runs knows the earlier run's tasks too.
func asyncOf(lat map[string]time.Duration, addrOf map[string]string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for id, l := range lat {
		if _, ok := addrOf[id]; ok {
			out[id] = l
		}
	}
	return out
}
