package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// liveView is the terminal view of apply: a line per in-flight asset with
// its phase and elapsed time, and an overall bar with credits spent against
// the estimate, the request budget in use and an ETA. Finished assets print
// as lines above the bars.
type liveView struct {
	mu       sync.Mutex // guards the fields below
	progress *mpb.Progress
	overall  *mpb.Bar
	assets   map[string]*liveAsset
	spent    int
	pal      palette

	estimate int
	limiter  *xpilot.Limiter
}

type liveAsset struct {
	bar   *mpb.Bar
	phase executor.Phase
	since time.Time
}

func newLiveView(w io.Writer, total, estimate int, limiter *xpilot.Limiter, colorOn bool) *liveView {
	v := &liveView{assets: map[string]*liveAsset{}, estimate: estimate, limiter: limiter, pal: newPalette(colorOn)}
	v.progress = mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	v.overall = v.progress.AddBar(int64(total),
		mpb.BarPriority(1<<30), // keep the overall bar last
		mpb.PrependDecorators(decor.Name("assets "), decor.CountersNoUnit("%d/%d")),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string { return v.creditsText() }),
			decor.Any(func(decor.Statistics) string { return v.budgetText() }),
			decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_GO),
		))
	return v
}

func (v *liveView) creditsText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return fmt.Sprintf("  spent %s of ~%s", formatCents(v.spent), formatCents(v.estimate))
}

func (v *liveView) budgetText() string {
	if v.limiter == nil {
		return ""
	}
	st := v.limiter.Stats()
	text := fmt.Sprintf("  requests %d/%d a min, %d waiting", st.InWindow, v.limiter.PerMinute(), st.Waiting)
	if st.Others > 0 {
		text += fmt.Sprintf(" (%d from other xpflow runs)", st.Others)
	}
	return text
}

// Window prints a line above the bars when requests start or stop waiting
// on other xpflow processes using the same key.
func (v *liveView) Window(n xpilot.WindowNote) {
	fmt.Fprintf(v.progress, "%7s  %s\n", "", n)
}

// Event updates the asset's line, or retires it when the asset is finished.
// It never calls into mpb while holding v.mu: mpb's render loop calls the
// decorators, which take v.mu, so holding it across a call into mpb could
// deadlock.
func (v *liveView) Event(e executor.Event) {
	v.mu.Lock()
	if e.CostCents != nil {
		v.spent += *e.CostCents
	}
	a := v.assets[e.Addr]
	switch e.Phase {
	case executor.PhaseDone, executor.PhaseFailed, executor.PhaseSkipped, executor.PhaseUnknown:
		delete(v.assets, e.Addr)
		v.mu.Unlock()
		if a != nil {
			a.bar.Abort(true)
		}
		v.overall.Increment()
		fmt.Fprintf(v.progress, "%7s  %s  %s  %s\n", formatElapsed(e.Elapsed), v.phaseText(e.Phase), e.Addr, e.Message)
		return
	}
	if a != nil {
		a.phase = e.Phase
		v.mu.Unlock()
		return
	}
	a = &liveAsset{since: e.Time, phase: e.Phase}
	v.assets[e.Addr] = a
	v.mu.Unlock()
	addr := e.Addr
	bar := v.progress.New(0, mpb.NopStyle(), mpb.PrependDecorators(
		decor.Any(func(decor.Statistics) string { return v.assetLine(addr) }),
	))
	v.mu.Lock()
	a.bar = bar
	v.mu.Unlock()
}

func (v *liveView) assetLine(addr string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	a := v.assets[addr]
	if a == nil {
		return ""
	}
	phase := a.phase
	if phase == executor.PhaseSubmitted || phase == executor.PhasePolling {
		phase = "generating"
	}
	return fmt.Sprintf("  %-12s %s  %s", phase, addr, time.Since(a.since).Round(time.Second))
}

func (v *liveView) phaseText(p executor.Phase) string {
	s := fmt.Sprintf("%-11s", p)
	switch p {
	case executor.PhaseDone:
		return v.pal.create.Sprint(s)
	case executor.PhaseFailed, executor.PhaseUnknown:
		return v.pal.bad.Sprint(s)
	}
	return v.pal.warn.Sprint(s)
}

// Close stops the live area so the summary prints below it.
func (v *liveView) Close() {
	v.mu.Lock()
	var bars []*mpb.Bar
	for addr, a := range v.assets {
		if a.bar != nil {
			bars = append(bars, a.bar)
		}
		delete(v.assets, addr)
	}
	v.mu.Unlock()
	for _, b := range bars {
		b.Abort(true)
	}
	v.overall.Abort(false)
	v.progress.Wait()
}
