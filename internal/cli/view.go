package cli

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
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
	phase := fmt.Sprintf("%-11s", e.Phase)
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
	fmt.Fprintf(v.env.Stdout, "%s %7s  %-11s  %s\n", n.Time.UTC().Format(time.RFC3339), "", "window", n)
}

func formatElapsed(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// printSummary prints counts, cost against estimate, credits, requests and
// wall time, then the root causes of failures.
func printSummary(env *Env, s *executor.Summary) {
	pal := newPalette(useColor(env))
	w := env.Stdout
	counts := s.Counts()
	var parts []string
	for _, o := range []executor.Outcome{executor.OutcomeDone, executor.OutcomeUnchanged, executor.OutcomeFailed,
		executor.OutcomeSkipped, executor.OutcomeGenerating, executor.OutcomeUnknown} {
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
	est := formatCents(s.EstimatedCents)
	if s.Unpriced > 0 {
		est += fmt.Sprintf(" + %d unpriced", s.Unpriced)
	}
	fmt.Fprintf(w, "Cost: %s actual against %s estimated.\n", formatCents(s.ActualCents), est)
	models := make([]string, 0, len(s.PerModel))
	for m := range s.PerModel {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		mc := s.PerModel[m]
		fmt.Fprintf(w, "  %-32s %3d × : %s actual, %s estimated\n", m, mc.Count, formatCents(mc.Actual), formatCents(mc.Estimated))
	}
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
