package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// lineView prints one line per asset state change.
type lineView struct {
	mu  sync.Mutex // serialises writes
	env *Env
	pal palette
}

func newLineView(env *Env) *lineView {
	return &lineView{env: env, pal: newPalette(useColor(env))}
}

// Event prints e as "TIME  12.3s  phase  ADDR  message", plain off a
// terminal so logs and CI read it as it is.
func (v *lineView) Event(e executor.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	phase := padRight(string(e.Phase), phaseWidth)
	switch e.Phase {
	case executor.PhaseDone:
		phase = v.pal.create.Sprint(phase)
	case executor.PhaseFailed, executor.PhaseUnknown:
		phase = v.pal.bad.Sprint(phase)
	case executor.PhaseSkipped:
		phase = v.pal.warn.Sprint(phase)
	}
	msg := e.Message
	if e.CostCents != nil {
		msg = strings.TrimSpace(msg + " " + formatCents(*e.CostCents))
	}
	line := fmt.Sprintf("%s %7s  %s  %s  %s", e.Time.UTC().Format(time.RFC3339), formatElapsed(e.Elapsed), phase, e.Addr, msg)
	fmt.Fprintln(v.env.Stdout, strings.TrimRight(line, " "))
}

// Window prints "TIME  window  waiting: …" when requests start or stop
// waiting on other xpflow processes using the same key.
func (v *lineView) Window(n xpilot.WindowNote) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.env.Stdout, "%s %7s  %s  %s\n", n.Time.UTC().Format(time.RFC3339), "", padRight("window", phaseWidth), n)
}

// phaseWidth is the width of the phase column of event lines: the longest
// phase name. Event lines are printed as they happen, so their columns
// are fixed widths rather than measured by a tabwriter over the whole run.
var phaseWidth = func() int {
	w := 0
	for _, p := range executor.Phases() {
		w = max(w, runeLen(string(p)))
	}
	return w
}()

// padRight pads s with spaces to width runes.
func padRight(s string, width int) string {
	if n := runeLen(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

func formatElapsed(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// printSummary prints counts, cost against estimate, credits, requests and
// wall time, then the root causes of failures.
func printSummary(env *Env, s *executor.Summary, p *planner.Plan) {
	pal := newPalette(useColor(env))
	w := env.Stdout
	counts := s.Counts()
	var parts []string
	for _, o := range []executor.Outcome{executor.OutcomeDone, executor.OutcomeUnchanged, executor.OutcomeFailed,
		executor.OutcomeExpired, executor.OutcomeSkipped, executor.OutcomeGenerating, executor.OutcomeUnknown} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	title := "Apply complete"
	switch {
	case s.Interrupted:
		title = "Apply interrupted"
	case !s.OK():
		title = "Apply finished with errors"
	}
	fmt.Fprintf(w, "\n%s: %s.\n", pal.bold.Sprint(title), strings.Join(parts, ", "))
	if n, est, unpriced := adoptedFromOthers(s, p); n > 0 {
		// Runners of one Postgres campaign: the plan's estimate covers
		// assets other runners generated, which this run paid nothing for.
		fmt.Fprintf(w, "Cost: %s actual; estimate: %s for what this run generated; %s by other runners of the campaign.\n",
			formatCents(s.ActualCents), estimateText(est, unpriced), plural(n, "asset was generated", "assets were generated"))
	} else {
		fmt.Fprintf(w, "Cost: %s actual; estimate: %s.\n", formatCents(s.ActualCents), estimateText(s.EstimatedCents, s.Unpriced))
	}
	printModelCosts(w, s, p)
	if s.RemainingCents != nil {
		fmt.Fprintf(w, "Credits remaining: %s.\n", formatCents(*s.RemainingCents))
	}
	fmt.Fprintf(w, "API requests: %d. Wall time: %s.\n", s.Requests, s.Wall.Round(100*time.Millisecond))
	printProblems(env, pal, s)
}

func printProblems(env *Env, pal palette, s *executor.Summary) {
	w := env.Stdout
	if sh := s.CreditsShort; sh != nil {
		avail := "unknown"
		if sh.AvailableCents != nil {
			avail = formatCents(*sh.AvailableCents)
		}
		need := formatCents(sh.NeededCents)
		if sh.UnpricedAssets > 0 {
			need += fmt.Sprintf(" + %d unpriced", sh.UnpricedAssets)
		}
		fmt.Fprintf(w, "\n%s the rest needs about %s; %s is left. Top up, then apply again: finished assets are not paid again.\n",
			pal.bad.Sprint("Out of credits:"), need, avail)
	}
	if f := s.Failed(); len(f) > 0 {
		fmt.Fprintf(w, "\n%s\n", pal.bad.Sprint("Failed:"))
		for _, a := range f {
			fmt.Fprintf(w, "  %s: %s\n", a.Addr, a.Message)
		}
	}
	if e := s.Expired(); len(e) > 0 {
		fmt.Fprintf(w, "\n%s\n", pal.bad.Sprint("Output URL expired (paid and recorded; the file cannot be downloaded):"))
		for _, a := range e {
			fmt.Fprintf(w, "  %s: %s\n", a.Addr, a.Message)
		}
	}
	var gen []string
	for _, a := range s.Assets {
		if a.Outcome == executor.OutcomeGenerating {
			gen = append(gen, a.Addr)
		}
	}
	if len(gen) > 0 {
		fmt.Fprintf(w, "\nStill generating (apply again to resume, nothing is paid twice):\n  %s\n", strings.Join(gen, "\n  "))
	}
}

// adoptedFromOthers counts the assets of the plan that other runners of
// the campaign generated, and estimates the rest, which this run did.
func adoptedFromOthers(s *executor.Summary, p *planner.Plan) (n, estimated, unpriced int) {
	byOther := map[string]bool{}
	for _, a := range s.Assets {
		if a.ByOther && a.Outcome == executor.OutcomeDone {
			byOther[a.Addr] = true
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	for _, nd := range p.Nodes {
		switch {
		case nd.Excluded || !nd.Action.Spends() || byOther[nd.Addr]:
		case nd.Cost.Priced:
			estimated += nd.Cost.Cents
		default:
			unpriced++
		}
	}
	return n, estimated, unpriced
}

// modelRow is one line of the per-model cost table.
type modelRow struct {
	planned, generated, unpriced int
	byOther                      int // done by other runners of the campaign
	actual, estimated            int
}

// printModelCosts prints, per model, how many of the planned generations
// were made, what they cost and what they were estimated at. Assets not
// generated (skipped, failed before a charge) count in "of N" only.
func printModelCosts(w io.Writer, s *executor.Summary, p *planner.Plan) {
	rows := map[string]*modelRow{}
	outcome := map[string]executor.AssetResult{}
	for _, a := range s.Assets {
		outcome[a.Addr] = a
	}
	for _, n := range p.Nodes {
		if n.Excluded || !n.Action.Spends() {
			continue
		}
		r := rows[n.Model]
		if r == nil {
			r = &modelRow{}
			rows[n.Model] = r
		}
		r.planned++
		a := outcome[n.Addr]
		r.actual += a.CostCents
		switch {
		case a.ByOther && a.Outcome == executor.OutcomeDone:
			r.byOther++
		case a.Outcome == executor.OutcomeDone:
			r.generated++
			if n.Cost.Priced {
				r.estimated += n.Cost.Cents
			} else {
				r.unpriced++
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	models := make([]string, 0, len(rows))
	for m := range rows {
		models = append(models, m)
	}
	sort.Strings(models)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MODEL\tGENERATED\tACTUAL\tESTIMATED")
	for _, m := range models {
		r := rows[m]
		est := estimateText(r.estimated, r.unpriced)
		if r.generated == 0 {
			est = "-"
		}
		gen := fmt.Sprintf("%d of %d", r.generated, r.planned)
		if r.byOther > 0 {
			gen += fmt.Sprintf(" (%d by other runners)", r.byOther)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m, gen, formatCents(r.actual), est)
	}
	_ = tw.Flush()
}
