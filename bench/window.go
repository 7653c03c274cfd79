package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/window"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// WindowRow is one setup of the "two clients, one key" benchmark: the
// two campaigns of WindowCampaigns applied on one key against one
// simulator. Every client runs inside the benchmark's own process (on
// one compressed clock); two xpflow processes on one key are run for
// real by go test ./test/window, not here.
type WindowRow struct {
	// Setup names who applies what.
	Setup string
	// Makespan is from the start until both campaigns are done.
	Makespan time.Duration
	// Limited counts 429 answers.
	Limited int
	// Requests counts API requests, 429s and catalogs included.
	Requests int
	// WorstRatio is, over repeats, the largest makespan against the one
	// process's of the same repeat (set by MedianWindow).
	WorstRatio float64
}

// Setups of RunWindow, in table order.
const (
	SetupOne      = "one client, both campaigns"
	SetupShared   = "two clients, shared ledger file"
	SetupUnshared = "two clients, own windows (before issue 10)"
)

// WindowCampaigns are the two campaigns of the benchmark: 16 async images
// each, as in issue 10.
func WindowCampaigns() [2]Scenario {
	mk := func(name string) Scenario {
		return Scenario{Name: name, Blocks: []Block{{Kind: "image", Name: name, N: 16, Model: "flux/pro-async"}}}
	}
	return [2]Scenario{mk("left"), mk("right")}
}

// RunWindow applies the two campaigns three ways, each on a fresh
// simulator of seed cfg.Seed on one compressed clock, all inside this
// process: by one client (one campaign holding both), by two clients
// sharing the window ledger (each with its own limiter and its own handle
// on the ledger file, as two xpflow processes have them, but in one
// process: the file lock is taken through two file descriptors, and the
// clock is shared), and by two clients that do not share it, as two
// processes did before the ledger existed.
func RunWindow(ctx context.Context, cfg Config) ([]WindowRow, error) {
	cfg = cfg.withDefaults()
	cat, err := fetchCatalog(ctx)
	if err != nil {
		return nil, err
	}
	c := clock.Scaled(time.Now(), cfg.Scale)
	camps := WindowCampaigns()
	both := Scenario{Name: "both", Blocks: append(append([]Block(nil), camps[0].Blocks...), camps[1].Blocks...)}
	var rows []WindowRow
	for _, setup := range []string{SetupOne, SetupShared, SetupUnshared} {
		dir, err := os.MkdirTemp(cfg.Dir, "window-")
		if err != nil {
			return nil, err
		}
		rctx, cancel := withTimeout(ctx, cfg.Scale, time.Hour)
		var row WindowRow
		switch setup {
		case SetupOne:
			row, err = windowRun(rctx, cfg, c, dir, cat, false, both)
		case SetupShared:
			row, err = windowRun(rctx, cfg, c, dir, cat, true, camps[0], camps[1])
		default:
			row, err = windowRun(rctx, cfg, c, dir, cat, false, camps[0], camps[1])
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setup, err)
		}
		row.Setup = setup
		cfg.Logf("%-45s makespan %s, %d requests, %d answers of 429", setup, row.Makespan.Round(time.Second), row.Requests, row.Limited)
		rows = append(rows, row)
	}
	return rows, nil
}

// windowRun applies each scenario with a client of its own, all at once
// and in this process, on one simulator; with shared, the clients share a
// window ledger file in dir.
func windowRun(ctx context.Context, cfg Config, c clock.Clock, dir string, cat *xpilot.Catalog, shared bool, scs ...Scenario) (WindowRow, error) {
	env := startSim(c, cfg.Seed, cfg.PerMinute, scs[0])
	defer env.close()
	var wg sync.WaitGroup
	errs := make([]error, len(scs))
	t0 := c.Now()
	for i, sc := range scs {
		campDir := filepath.Join(dir, sc.Name)
		if err := os.MkdirAll(campDir, 0o755); err != nil {
			return WindowRow{}, err
		}
		if err := os.WriteFile(filepath.Join(campDir, "campaign.xp.hcl"), []byte(sc.HCL()), 0o644); err != nil {
			return WindowRow{}, err
		}
		limiter := xpilot.NewLimiter(cfg.PerMinute, c)
		if shared {
			store, err := window.OpenFile(filepath.Join(dir, "cache"), window.Name(env.http.URL, simKey), nil)
			if err != nil {
				return WindowRow{}, err
			}
			limiter = xpilot.NewSharedLimiter(cfg.PerMinute, c, store, func(w string) { cfg.Logf("%s", w) })
		}
		client, err := xpilot.New(xpilot.Config{BaseURL: env.http.URL, APIKey: simKey, Clock: c,
			Limiter: limiter, HTTPClient: env.http.Client()})
		if err != nil {
			return WindowRow{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = applyPlain(ctx, c, client, campDir, cat)
		}()
	}
	wg.Wait()
	row := WindowRow{Makespan: c.Now().Sub(t0)}
	for _, err := range errs {
		if err != nil {
			return row, err
		}
	}
	n := env.rec.snapshot()
	row.Requests, row.Limited = n.api, n.limited
	return row, nil
}

// applyPlain plans and applies the campaign in dir with client, as apply
// does.
func applyPlain(ctx context.Context, c clock.Clock, client *xpilot.Client, dir string, cat *xpilot.Catalog) error {
	sp, diags := spec.Load(dir, spec.LoadOptions{})
	if diags.HasErrors() {
		return fmt.Errorf("load %s: %s", dir, diags.Error())
	}
	store, err := state.Open(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		return err
	}
	defer store.Close()
	plan, diags := planner.Build(sp, planner.Options{Catalog: cat, State: store.Snapshot()})
	if diags.HasErrors() {
		return fmt.Errorf("plan %s: %s", dir, diags.Error())
	}
	sum, err := executor.Run(ctx, plan, executor.Options{Client: client, Store: store, Clock: c})
	if err != nil {
		return fmt.Errorf("apply %s: %w", dir, err)
	}
	if !sum.OK() {
		return fmt.Errorf("apply %s did not finish: %v", dir, sum.Failed())
	}
	return nil
}

// MedianWindow returns, per setup, the median makespan and requests, and
// the worst count of 429s and worst makespan ratio over the repeats.
func MedianWindow(repeats [][]WindowRow) []WindowRow {
	if len(repeats) == 0 {
		return nil
	}
	out := make([]WindowRow, len(repeats[0]))
	for i := range out {
		var spans, reqs []int64
		for _, rows := range repeats {
			spans = append(spans, int64(rows[i].Makespan))
			reqs = append(reqs, int64(rows[i].Requests))
			out[i].Limited = max(out[i].Limited, rows[i].Limited)
			out[i].WorstRatio = max(out[i].WorstRatio, float64(rows[i].Makespan)/float64(rows[0].Makespan))
		}
		sort.Slice(spans, func(a, b int) bool { return spans[a] < spans[b] })
		sort.Slice(reqs, func(a, b int) bool { return reqs[a] < reqs[b] })
		out[i].Setup = repeats[0][i].Setup
		out[i].Makespan = time.Duration(spans[len(spans)/2])
		out[i].Requests = int(reqs[len(reqs)/2])
	}
	return out
}

// WriteWindowTable prints the rows with each makespan against the one
// process doing both campaigns (the first row).
func WriteWindowTable(w io.Writer, rows []WindowRow) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "setup\tmakespan\tvs row 1\tworst run vs row 1\trequests\t429s")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.2fx\t%.2fx\t%d\t%d\n", r.Setup, r.Makespan.Round(time.Second),
			float64(r.Makespan)/float64(rows[0].Makespan), r.WorstRatio, r.Requests, r.Limited)
	}
	return tw.Flush()
}
