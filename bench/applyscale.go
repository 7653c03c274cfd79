package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// ApplyHCL is a campaign of one synchronous image per row of products.csv.
const ApplyHCL = `xpflow {
  output_dir = "out"
}

locals {
  products = { for row in csvdecode(file("products.csv")) : row.sku => row.name }
}

image "hero" {
  for_each = local.products
  model    = "bytedance/seedream-4.5"
  prompt   = "${each.value} on a white background"
}
`

// ApplyRow is one run of xpflow apply as a separate process: its wall
// time, user and system CPU, and peak resident set size.
type ApplyRow struct {
	Assets          int
	Wall, User, Sys time.Duration
	MaxRSS          int64 // bytes
	Journal         bool  // a journal was left beside the state (it must not be)
}

// ApplyScale runs `xpflow apply -auto-approve` with the binary at xpflow
// on a campaign of n sync images for each n, against a simulator in this
// process with the rate limit off on both sides, and measures the xpflow
// process alone. Each run starts from an empty state in a new directory.
func ApplyScale(ctx context.Context, xpflow, base string, sizes []int) ([]ApplyRow, error) {
	run, err := sim.Start("", sim.WithKey(sim.DefaultKey, 1<<40), sim.WithRateLimit(0))
	if err != nil {
		return nil, err
	}
	defer run.Close()
	var rows []ApplyRow
	for _, n := range sizes {
		row, err := applyOnce(ctx, xpflow, base, run, n)
		if err != nil {
			return rows, fmt.Errorf("%d assets: %w", n, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func applyOnce(ctx context.Context, xpflow, base string, run *sim.Running, n int) (ApplyRow, error) {
	dir, err := os.MkdirTemp(base, fmt.Sprintf("apply-%d-", n))
	if err != nil {
		return ApplyRow{}, err
	}
	var csv strings.Builder
	csv.WriteString("sku,name\n")
	for i := range n {
		fmt.Fprintf(&csv, "p%06d,Product %d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "products.csv"), []byte(csv.String()), 0o644); err != nil {
		return ApplyRow{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(ApplyHCL), 0o644); err != nil {
		return ApplyRow{}, err
	}
	cmd := exec.CommandContext(ctx, xpflow, "apply", "-auto-approve", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XPILOT_BASE_URL="+run.URL, "XPILOT_API_KEY="+run.Key,
		"XPILOT_RATE_LIMIT=100000000", "XPFLOW_CACHE_DIR="+filepath.Join(dir, ".cache"), "NO_COLOR=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return ApplyRow{}, fmt.Errorf("xpflow apply: %w\n%s", err, out.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return ApplyRow{}, errors.New("no resource usage for the xpflow process")
	}
	st, err := state.Load(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		return ApplyRow{}, err
	}
	done := 0
	for _, a := range st.Assets {
		if a.Status == state.StatusCompleted && len(a.Outputs) == 1 && a.Outputs[0].File != "" {
			done++
		}
	}
	if done != n {
		return ApplyRow{}, fmt.Errorf("%d of %d assets completed and downloaded", done, n)
	}
	_, jerr := os.Stat(state.JournalPath(filepath.Join(dir, "xpflow.state.json")))
	row := ApplyRow{Assets: n, Wall: wall, Journal: jerr == nil,
		User:   time.Duration(ru.Utime.Nano()),
		Sys:    time.Duration(ru.Stime.Nano()),
		MaxRSS: ru.Maxrss * 1024}
	if err := os.RemoveAll(dir); err != nil {
		return row, err
	}
	return row, nil
}

// WriteApplyTable prints the apply rows with the growth of user CPU from
// each size to the next, against the growth of the size.
func WriteApplyTable(w io.Writer, rows []ApplyRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "assets\twall\tuser CPU\tsys CPU\tpeak RSS MB\tsize growth\tuser CPU growth\twall growth\t")
	for i, r := range rows {
		g := "\t\t\t"
		if i > 0 {
			p := rows[i-1]
			g = fmt.Sprintf("%.1fx\t%.1fx\t%.1fx\t", float64(r.Assets)/float64(p.Assets),
				float64(r.User)/float64(max(p.User, 1)), float64(r.Wall)/float64(max(p.Wall, 1)))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.0f\t%s\n", r.Assets, r.Wall.Round(10*time.Millisecond),
			r.User.Round(10*time.Millisecond), r.Sys.Round(10*time.Millisecond), float64(r.MaxRSS)/(1<<20), g)
	}
	return tw.Flush()
}

// WriteCatalogTable prints the CSV catalog plan rows.
func WriteCatalogTable(w io.Writer, rows []CatalogRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "form\tCSV rows\tinstances\ttime\tpeak heap MB\tallocated MB\truntime sys MB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f\t%.1f\t%.1f\t\n", r.Form, r.Rows, r.Assets, r.Time.Round(time.Millisecond),
			float64(r.PeakHeap)/(1<<20), float64(r.Alloc)/(1<<20), float64(r.Sys)/(1<<20))
	}
	return tw.Flush()
}
