package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// ScaleHCL is a campaign of n asset instances: a for_each over n/2 keys of
// an image and a video made from it.
func ScaleHCL(n int) string {
	var b strings.Builder
	b.WriteString("variable \"products\" {\n  default = {\n")
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&b, "    p%06d = \"Product %d\"\n", i, i)
	}
	b.WriteString(`  }
}

locals { look = "studio light" }

image "hero" {
  for_each = var.products
  model    = "bytedance/seedream-4.5"
  prompt   = "${each.value}, ${local.look}"
}

video "spot" {
  for_each  = var.products
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in on ${each.value}"
  image_url = image.hero[each.key].url
  duration  = 8
}
`)
	return b.String()
}

// WriteScaleSpec writes ScaleHCL(n) into a new directory under base and
// returns it.
func WriteScaleSpec(base string, n int) (string, error) {
	dir, err := os.MkdirTemp(base, fmt.Sprintf("scale-%d-", n))
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(ScaleHCL(n)), 0o644)
}

// LoadAndPlan is the measured work: load the campaign in dir and plan it
// with no state.
func LoadAndPlan(dir string, cat *xpilot.Catalog) (*planner.Plan, error) {
	sp, diags := spec.Load(dir, spec.LoadOptions{})
	if diags.HasErrors() {
		return nil, fmt.Errorf("load: %s", diags.Error())
	}
	plan, diags := planner.Build(sp, planner.Options{Catalog: cat})
	if diags.HasErrors() {
		return nil, fmt.Errorf("plan: %s", diags.Error())
	}
	return plan, nil
}

// ScaleRow is one size of the plan-at-scale measurement.
type ScaleRow struct {
	Assets int
	Time   time.Duration
	// PeakHeap is the largest live heap sampled while loading and
	// planning, in bytes; Alloc the bytes allocated in all.
	PeakHeap, Alloc uint64
	// Sys is the memory the Go runtime holds from the OS after the run
	// (it only grows, so it is a high-water mark of the process).
	Sys uint64
}

// PlanScale loads and plans a campaign of each size once, after a GC,
// sampling the heap every 5 ms to find its peak.
func PlanScale(ctx context.Context, base string, sizes []int) ([]ScaleRow, error) {
	cat, err := fetchCatalog(ctx)
	if err != nil {
		return nil, err
	}
	var rows []ScaleRow
	for _, n := range sizes {
		dir, err := WriteScaleSpec(base, n)
		if err != nil {
			return rows, err
		}
		row, err := measurePlan(dir, cat, n)
		if err != nil {
			return rows, fmt.Errorf("%d assets: %w", n, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func measurePlan(dir string, cat *xpilot.Catalog, n int) (ScaleRow, error) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := before.HeapAlloc
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
		}
	}()
	start := time.Now()
	plan, err := LoadAndPlan(dir, cat)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	peak = max(peak, after.HeapAlloc)
	if err != nil {
		return ScaleRow{}, err
	}
	if len(plan.Nodes) != n/2*2 {
		return ScaleRow{}, fmt.Errorf("got %d nodes, want %d", len(plan.Nodes), n/2*2)
	}
	runtime.KeepAlive(plan)
	return ScaleRow{Assets: n, Time: elapsed, PeakHeap: peak - before.HeapAlloc, Alloc: after.TotalAlloc - before.TotalAlloc, Sys: after.Sys}, nil
}

// WritePlanTable prints the plan-at-scale rows with the growth of time and
// peak heap from each size to the next, against the growth of the size.
func WritePlanTable(w io.Writer, rows []ScaleRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "assets\ttime\tpeak heap MB\tallocated MB\truntime sys MB\tsize growth\ttime growth\theap growth\t")
	for i, r := range rows {
		g := "\t\t\t"
		if i > 0 {
			p := rows[i-1]
			g = fmt.Sprintf("%.1fx\t%.1fx\t%.1fx\t", float64(r.Assets)/float64(p.Assets),
				float64(r.Time)/float64(p.Time), float64(r.PeakHeap)/float64(max(p.PeakHeap, 1)))
		}
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.1f\t%s\n", r.Assets, r.Time.Round(time.Millisecond),
			float64(r.PeakHeap)/(1<<20), float64(r.Alloc)/(1<<20), float64(r.Sys)/(1<<20), g)
	}
	return tw.Flush()
}
