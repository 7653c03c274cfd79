package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// Config configures RunSuite.
type Config struct {
	// Scale is how much faster than the wall clock virtual time runs
	// (default 150).
	Scale float64
	// PerMinute is the rate limit in virtual time (default 30).
	PerMinute int
	// Seed seeds the first runs; learned runs use Seed+1000 (default 1).
	Seed int64
	// Dir holds the campaigns and their state; it must exist.
	Dir string
	// Only, when not empty, keeps the scenarios whose name contains it.
	Only string
	// PeerPriorities makes the peer's client keep the xpilot client's
	// default priorities (polls before submits) instead of one
	// first-come, first-served queue.
	PeerPriorities bool
	// Logf, when set, receives a diagnostic line per run.
	Logf func(format string, args ...any)
	// Trace, with Logf, also logs every async task of each xpflow run:
	// its submit, true latency, and each poll (see Result.Trace).
	Trace bool
}

func (c Config) withDefaults() Config {
	if c.Scale <= 0 {
		c.Scale = 150
	}
	if c.PerMinute <= 0 {
		c.PerMinute = xpilot.DefaultRequestsPerMinute
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// Row is one line of the table: a scenario, first run or learned, with
// the xpflow run and the peer run on a simulator of the same seed.
type Row struct {
	Scenario string
	Learned  bool
	// Pair marks the rows of a back-to-back scenario: the learned row is
	// the second apply, started right after the first on the same key.
	Pair   bool
	Xpflow Result
	Peer   Result
}

// Name is the scenario name with "(learned)" for second runs, or "(2nd,
// back to back)" for the second of a pair.
func (r Row) Name() string {
	switch {
	case r.Pair && r.Learned:
		return r.Scenario + " (2nd, back to back)"
	case r.Learned:
		return r.Scenario + " (learned)"
	}
	return r.Scenario
}

// RunSuite runs every scenario twice, first with no state and then again
// with everything replaced and the latencies the first run learned, each
// time alongside the peer. Runs go one after another so that they do not
// compete for the CPU.
func RunSuite(ctx context.Context, cfg Config) ([]Row, error) {
	cfg = cfg.withDefaults()
	c := clock.Scaled(time.Now(), cfg.Scale)
	cat, err := fetchCatalog(ctx)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, sc := range Scenarios() {
		if cfg.Only != "" && !strings.Contains(sc.Name, cfg.Only) {
			continue
		}
		dir, err := os.MkdirTemp(cfg.Dir, strings.ReplaceAll(sc.Name, " ", "-")+"-")
		if err != nil {
			return rows, err
		}
		if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(sc.HCL()), 0o644); err != nil {
			return rows, err
		}
		var pair []Row
		if sc.Pair {
			if pair, err = runPair(ctx, cfg, c, sc, dir, cat); err != nil {
				return rows, fmt.Errorf("%s: %w", sc.Name, err)
			}
		} else {
			for _, learned := range []bool{false, true} {
				row, err := runRow(ctx, cfg, c, sc, dir, cat, learned)
				if err != nil {
					return rows, fmt.Errorf("%s: %w", row.Name(), err)
				}
				pair = append(pair, row)
			}
		}
		for _, row := range pair {
			cfg.Logf("%-30s xpflow %s | %s | peer %s, %d requests", row.Name(),
				row.Xpflow.Makespan.Round(100*time.Millisecond), row.Xpflow.Bounds, row.Peer.Makespan.Round(100*time.Millisecond), row.Peer.Requests)
			cfg.Logf("%-30s %s", "", row.Xpflow.Diag)
			if cfg.Trace {
				for _, l := range row.Xpflow.Trace {
					cfg.Logf("    %s", l)
				}
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

func runRow(ctx context.Context, cfg Config, c clock.Clock, sc Scenario, dir string, cat *xpilot.Catalog, learned bool) (Row, error) {
	row := Row{Scenario: sc.Name, Learned: learned}
	seed := cfg.Seed
	if learned {
		seed += 1000
	}
	rctx, cancel := withTimeout(ctx, cfg.Scale, time.Hour)
	defer cancel()
	var err error
	if row.Xpflow, err = runXpflow(rctx, cfg, c, sc, dir, cat, seed, learned); err != nil {
		return row, fmt.Errorf("xpflow: %w", err)
	}
	if row.Peer, err = runPeer(rctx, cfg, c, sc, seed); err != nil {
		return row, fmt.Errorf("peer: %w", err)
	}
	return row, nil
}

// runPair runs a Pair scenario: the first row is the first apply, the
// second the apply right after it, on the same simulator and key.
func runPair(ctx context.Context, cfg Config, c clock.Clock, sc Scenario, dir string, cat *xpilot.Catalog) ([]Row, error) {
	rctx, cancel := withTimeout(ctx, cfg.Scale, 2*time.Hour)
	defer cancel()
	rows := []Row{{Scenario: sc.Name, Pair: true}, {Scenario: sc.Name, Pair: true, Learned: true}}
	var err error
	if rows[0].Xpflow, rows[1].Xpflow, err = runXpflowPair(rctx, cfg, c, sc, dir, cat, cfg.Seed); err != nil {
		return nil, fmt.Errorf("xpflow: %w", err)
	}
	if rows[0].Peer, rows[1].Peer, err = runPeerPair(rctx, cfg, c, sc, cfg.Seed); err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	return rows, nil
}

// fetchCatalog gets the model catalog through a client, from a simulator
// of its own so that the request counts against no benchmark's window.
func fetchCatalog(ctx context.Context) (*xpilot.Catalog, error) {
	run, err := sim.Start("")
	if err != nil {
		return nil, err
	}
	defer run.Close()
	client, err := xpilot.New(xpilot.Config{BaseURL: run.URL, APIKey: run.Key})
	if err != nil {
		return nil, err
	}
	return client.Models(ctx)
}

// Median returns, per row position, the row whose xpflow makespan is the
// median of the repeats, with every other figure also the median across
// repeats. All repeats must hold the same rows in the same order.
func Median(repeats [][]Row) []Row {
	if len(repeats) == 0 {
		return nil
	}
	out := make([]Row, len(repeats[0]))
	for i := range out {
		out[i] = repeats[0][i]
		pick := func(get func(Row) float64) []float64 {
			var v []float64
			for _, rs := range repeats {
				v = append(v, get(rs[i]))
			}
			sort.Float64s(v)
			return v
		}
		med := func(get func(Row) float64) float64 { v := pick(get); return v[len(v)/2] }
		x, p := &out[i].Xpflow, &out[i].Peer
		x.Makespan = time.Duration(med(func(r Row) float64 { return float64(r.Xpflow.Makespan) }))
		x.Bounds.Max = time.Duration(med(func(r Row) float64 { return float64(r.Xpflow.Bounds.Max) }))
		x.Requests = int(med(func(r Row) float64 { return float64(r.Xpflow.Requests) }))
		x.AsyncRequests = int(med(func(r Row) float64 { return float64(r.Xpflow.AsyncRequests) }))
		x.Limited = int(pick(func(r Row) float64 { return float64(r.Xpflow.Limited) })[len(repeats)-1]) // the worst
		var ests []*EstimateCheck
		for _, rs := range repeats {
			if e := rs[i].Xpflow.Estimate; e != nil {
				ests = append(ests, e)
			}
		}
		sort.Slice(ests, func(a, b int) bool { return ests[a].MaxError() < ests[b].MaxError() })
		x.Estimate = nil
		if len(ests) > 0 {
			x.Estimate = ests[len(ests)/2]
		}
		p.Makespan = time.Duration(med(func(r Row) float64 { return float64(r.Peer.Makespan) }))
		p.Requests = int(med(func(r Row) float64 { return float64(r.Peer.Requests) }))
		p.Limited = int(pick(func(r Row) float64 { return float64(r.Peer.Limited) })[len(repeats)-1])
	}
	return out
}

// WriteTable prints the rows as one aligned table. Times are virtual
// seconds; ratio is makespan over bound; peer ratio is xpflow's makespan
// over the peer's (below 0.5 means at least 2x faster); peer req ratio is
// xpflow's API requests over the peer's.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmakespan s\tbound s\tratio\treq/async\t429s\tpeer makespan s\tpeer ratio\tpeer req ratio\t")
	for _, r := range rows {
		x, p := r.Xpflow, r.Peer
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.2f\t%d/%d\t%.1f\t%.2f\t%.2f\t\n", r.Name(),
			x.Makespan.Seconds(), x.Bounds.Max.Seconds(), x.Ratio(), x.PerAsync(), x.Limited, p.Limited,
			p.Makespan.Seconds(), x.Makespan.Seconds()/p.Makespan.Seconds(), float64(x.Requests)/float64(p.Requests))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeEstimates(w, rows)
}

// writeEstimates prints, for the first runs of one block of videos, the
// latency quantiles estimated from the state after the run against the
// run's own latencies and the simulator's true distribution (uniform over
// the scenario's range), and what a sample of that size allows.
func writeEstimates(w io.Writer, rows []Row) error {
	var any bool
	for _, r := range rows {
		any = any || (r.Xpflow.Estimate != nil && !r.Learned)
	}
	if !any {
		return nil
	}
	fmt.Fprintln(w, "\nlatency quantiles learned by the first run, estimated / the run's own / true (s), and largest relative errors:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\t")
	for _, q := range estimateQuantiles {
		fmt.Fprintf(tw, "q%.2f\t", q)
	}
	fmt.Fprintln(tw, "est vs true\test vs own\town vs true\texact sample of n: within 10%, median error\t")
	for _, r := range rows {
		e := r.Xpflow.Estimate
		if e == nil || r.Learned {
			continue
		}
		fmt.Fprintf(tw, "%s\t", r.Name())
		for i := range e.True {
			fmt.Fprintf(tw, "%.1f / %.1f / %.1f\t", e.Estimated[i], e.Sample[i], e.True[i])
		}
		within, med := Floor(e.N, e.Lo, e.Hi, 0.10, floorDraws, 1)
		fmt.Fprintf(tw, "%.0f%%\t%.0f%%\t%.0f%%\tn=%d: %.0f%% of draws, %.0f%%\t\n", 100*e.MaxError(), 100*e.SampleError(),
			100*e.SamplingError(), e.N, 100*within, 100*med)
	}
	return tw.Flush()
}

// floorDraws is how many samples Floor draws for the table.
const floorDraws = 20000
