package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// catalogOnce fetches the catalog for a benchmark, outside its timed loop.
func catalogOnce(tb testing.TB) *xpilot.Catalog {
	tb.Helper()
	cat, err := fetchCatalog(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func benchmarkPlan(b *testing.B, n int) {
	cat := catalogOnce(b)
	dir, err := WriteScaleSpec(b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		plan, err := LoadAndPlan(dir, cat)
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Nodes) != n {
			b.Fatalf("got %d nodes, want %d", len(plan.Nodes), n)
		}
	}
}

func BenchmarkPlan1k(b *testing.B)   { benchmarkPlan(b, 1000) }
func BenchmarkPlan10k(b *testing.B)  { benchmarkPlan(b, 10000) }
func BenchmarkPlan100k(b *testing.B) { benchmarkPlan(b, 100000) }

// TestScenariosPlan checks that every benchmark campaign loads and plans
// with the simulator's catalog, with the instances and dependencies the
// scenario describes.
func TestScenariosPlan(t *testing.T) {
	cat := catalogOnce(t)
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(sc.HCL()), 0o644); err != nil {
				t.Fatal(err)
			}
			plan, err := LoadAndPlan(dir, cat)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, n := range plan.Nodes {
				got[n.Addr] = n.Deps
			}
			want := map[string][]string{}
			for _, b := range sc.Blocks {
				for i := 0; i < b.N; i++ {
					var deps []string
					for _, up := range sc.Blocks {
						if up.Addr() == b.Upstream {
							deps = []string{instanceAddr(up, i)}
						}
					}
					want[instanceAddr(b, i)] = deps
				}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("nodes and deps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeMatchesRun runs the smallest scenario on a fast clock and
// checks that the probe measured a latency inside the simulator's range
// and no later than the run first saw the task completed.
func TestProbeMatchesRun(t *testing.T) {
	cfg := Config{Scale: 400, Dir: t.TempDir()}.withDefaults()
	c := clock.Scaled(time.Now(), cfg.Scale)
	sc := Scenarios()[0]
	dir := filepath.Join(cfg.Dir, "one")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(sc.HCL()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := runXpflow(ctx, cfg, c, sc, dir, catalogOnce(t), 7, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Async != 1 || res.Limited != 0 {
		t.Errorf("got %d async tasks and %d 429s, want 1 and 0", res.Async, res.Limited)
	}
	if l := res.Bounds.Max; l < 30*time.Second || l > 120*time.Second+probeStep {
		t.Errorf("got bound %s, want a video latency in [30s, 120.1s]", l)
	}
	if res.Makespan < res.Bounds.Max {
		t.Errorf("got makespan %s below the bound %s: the probe overstates latency", res.Makespan, res.Bounds.Max)
	}
}
