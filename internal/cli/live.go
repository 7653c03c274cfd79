package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// Live view geometry.
const (
	liveMaxRows  = 8  // in-flight rows shown; the rest are in the roll-up
	liveMinBar   = 20 // the bar never gets narrower than this
	liveMaxBar   = 40
	liveMinWidth = 40 // below this the terminal width is not believed
	liveRefresh  = 200 * time.Millisecond
)

// liveView is the terminal view of apply. Above a redrawn frame it prints
// a line per finished asset (with its cost and how long it took); the
// frame shows at most liveMaxRows in-flight assets with their phase, a
// roll-up of every phase ("12 generating · 18 queued · 9 done"), and a
// bar with credits spent against the estimate, the scheduler's ETA and the
// request window.
type liveView struct {
	mu  sync.Mutex // guards every field below, and writes to w
	w   io.Writer
	pal palette
	now func() time.Time
	// width returns the terminal width in columns.
	width func() int

	total    int // assets apply works on
	estimate int // priced part of the estimate, cents
	unpriced int
	limiter  *xpilot.Limiter

	spent    int
	assets   map[string]*liveAsset // in flight only, so memory does not grow with the campaign
	order    []string              // in-flight addresses, first seen first
	finished map[executor.Phase]int
	pending  []string // lines to print above the frame at the next draw
	eta      time.Duration
	etaAt    time.Time
	etaSeen  bool
	drawn    int // lines of the frame on screen

	stop chan struct{}
	done chan struct{}
}

type liveAsset struct {
	phase   executor.Phase
	since   time.Time // first event: the asset entered the run
	started time.Time // first submit, zero before
	cost    int
}

func newLiveView(w io.Writer, total, estimate, unpriced int, limiter *xpilot.Limiter, colorOn bool) *liveView {
	v := &liveView{w: w, pal: newPalette(colorOn), now: time.Now, width: terminalWidth(w),
		total: total, estimate: estimate, unpriced: unpriced, limiter: limiter,
		assets: map[string]*liveAsset{}, finished: map[executor.Phase]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go v.loop()
	return v
}

// terminalWidth reads w's width when it is a terminal, else 80.
func terminalWidth(w io.Writer) func() int {
	return func() int {
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols >= liveMinWidth {
				return cols
			}
		}
		return 80
	}
}

func (v *liveView) loop() {
	defer close(v.done)
	t := time.NewTicker(liveRefresh)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.draw(true)
			v.mu.Unlock()
		}
	}
}

// Window prints a line above the frame when requests start or stop waiting
// on other xpflow processes using the same key.
func (v *liveView) Window(n xpilot.WindowNote) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending = append(v.pending, fmt.Sprintf("%7s  %s", "", n))
}

// Event records a phase change; a finished asset leaves the frame and is
// printed above it at the next draw.
func (v *liveView) Event(e executor.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eta, v.etaAt, v.etaSeen = e.ETA, e.Time, true
	a := v.assets[e.Addr]
	if a == nil {
		a = &liveAsset{since: e.Time}
		v.assets[e.Addr] = a
		v.order = append(v.order, e.Addr)
	}
	if e.CostCents != nil {
		v.spent += *e.CostCents
		a.cost += *e.CostCents
	}
	if e.Phase == executor.PhaseSubmitting && a.started.IsZero() {
		a.started = e.Time
	}
	a.phase = e.Phase
	if !finishedPhase(e.Phase) {
		return
	}
	v.finished[e.Phase]++
	for i, addr := range v.order {
		if addr == e.Addr {
			v.order = append(v.order[:i], v.order[i+1:]...)
			break
		}
	}
	v.pending = append(v.pending, v.finishedLine(e, a))
	delete(v.assets, e.Addr)
}

// finishedPhase reports whether p ends an asset's part in the run: it
// leaves the frame, gets a finished line and counts towards the bar.
func finishedPhase(p executor.Phase) bool {
	switch p {
	case executor.PhaseDone, executor.PhaseFailed, executor.PhaseSkipped, executor.PhaseUnknown, executor.PhaseExpired:
		return true
	}
	return false
}

// finishedLine is "  41.2s  done        video.spot["a"]  $2.40 in 38s  out/…".
func (v *liveView) finishedLine(e executor.Event, a *liveAsset) string {
	var facts []string
	if a.cost > 0 || (e.Phase == executor.PhaseDone && !a.started.IsZero()) {
		facts = append(facts, formatCents(a.cost))
	}
	from := a.started
	if from.IsZero() {
		from = a.since
	}
	if e.Phase == executor.PhaseDone {
		facts = append(facts, "in "+roundDur(e.Time.Sub(from)))
	}
	if e.Message != "" {
		facts = append(facts, e.Message)
	}
	return fmt.Sprintf("%7s  %s  %s  %s", formatElapsed(e.Elapsed), v.phaseText(e.Phase), e.Addr, strings.Join(facts, "  "))
}

func (v *liveView) phaseText(p executor.Phase) string {
	s := padRight(string(p), phaseWidth)
	switch p {
	case executor.PhaseDone:
		return v.pal.create.Sprint(s)
	case executor.PhaseFailed, executor.PhaseUnknown:
		return v.pal.bad.Sprint(s)
	}
	return v.pal.warn.Sprint(s)
}

// labelWidth is the width of the label column of in-flight rows: the
// longest label. The frame is redrawn as phases change, so the column has
// one width for the whole run rather than the widest label on screen.
var labelWidth = func() int {
	w := 0
	for _, p := range executor.Phases() {
		w = max(w, runeLen(phaseLabel(p)))
	}
	return w
}()

// phaseLabel is what a row says an in-flight asset is doing.
func phaseLabel(p executor.Phase) string {
	switch p {
	case executor.PhaseRateLimited:
		return "queued (rate limit)"
	case executor.PhaseSubmitted, executor.PhasePolling:
		return "generating"
	}
	return string(p)
}

// draw clears the frame on screen, prints pending lines, and draws the
// frame again unless withFrame is false. Caller holds v.mu.
func (v *liveView) draw(withFrame bool) {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", v.drawn) // up to the frame's first line, clear below
	}
	for _, l := range v.pending {
		b.WriteString(l + "\n")
	}
	v.pending = v.pending[:0]
	v.drawn = 0
	if withFrame {
		frame := v.frame(v.now(), v.width())
		for _, l := range frame {
			b.WriteString(l + "\n")
		}
		v.drawn = len(frame)
	}
	_, _ = io.WriteString(v.w, b.String())
}

// frame renders the in-flight rows, the roll-up and the status line for a
// terminal width columns wide. Caller holds v.mu.
func (v *liveView) frame(now time.Time, width int) []string {
	var out []string
	rows := v.order
	if len(rows) > liveMaxRows {
		rows = rows[:liveMaxRows]
	}
	for _, addr := range rows {
		a := v.assets[addr]
		since := a.since
		if !a.started.IsZero() {
			since = a.started
		}
		label := "  " + padRight(phaseLabel(a.phase), labelWidth) + " "
		tail := "  " + roundDur(now.Sub(since))
		room := width - runeLen(label) - runeLen(tail)
		out = append(out, label+truncateAddr(addr, room)+tail)
	}
	if hidden := len(v.order) - len(rows); hidden > 0 {
		out = append(out, fmt.Sprintf("  … and %d more in flight", hidden))
	}
	out = append(out, truncate("  "+v.rollup(), width))
	return append(out, v.status(now, width))
}

// rollup counts every asset by phase: "12 generating · 18 queued · 9 done".
func (v *liveView) rollup() string {
	counts := map[string]int{}
	for _, addr := range v.order {
		counts[phaseLabel(v.assets[addr].phase)]++
	}
	for p, n := range v.finished {
		counts[string(p)] += n
	}
	order := []string{"generating", "downloading", "submitting", "queued (rate limit)", "queued",
		string(executor.PhaseDone), string(executor.PhaseExpired), string(executor.PhaseFailed), string(executor.PhaseSkipped), string(executor.PhaseUnknown)}
	var parts []string
	for _, k := range order {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
			delete(counts, k)
		}
	}
	rest := make([]string, 0, len(counts))
	for k, n := range counts {
		rest = append(rest, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(rest)
	parts = append(parts, rest...)
	if len(parts) == 0 {
		return "starting"
	}
	return strings.Join(parts, " · ")
}

// status is "[=====-----]  9/40  spent $2.32 of ~$14.40  ETA 1m20s
// requests 28/30 a min". The bar keeps at least liveMinBar columns: the
// least useful parts are dropped to make room, never the bar.
func (v *liveView) status(now time.Time, width int) string {
	done := 0
	for _, n := range v.finished {
		done += n
	}
	parts := []string{fmt.Sprintf("%d/%d", done, v.total), v.spentText(), v.etaText(now)}
	if r := v.requestsText(); r != "" {
		parts = append(parts, r)
	}
	for len(parts) > 1 && 2+liveMinBar+2+runeLen(strings.Join(parts, "  ")) > width {
		parts = parts[:len(parts)-1]
	}
	text := strings.Join(parts, "  ")
	bar := min(liveMaxBar, max(liveMinBar, width-2-2-runeLen(text)-2))
	return "[" + progressBar(done, v.total, bar) + "]  " + text
}

func progressBar(done, total, width int) string {
	fill := width
	if total > 0 {
		fill = done * width / total
	}
	return strings.Repeat("=", fill) + strings.Repeat("-", width-fill)
}

func (v *liveView) spentText() string {
	s := "spent " + formatCents(v.spent)
	switch {
	case v.unpriced == 0:
		return s + " of ~" + formatCents(v.estimate)
	case v.estimate > 0:
		return s + " of at least " + formatCents(v.estimate)
	}
	return s + " (estimate unknown)"
}

// etaText counts down the scheduler's last forecast.
func (v *liveView) etaText(now time.Time) string {
	if !v.etaSeen {
		return "ETA estimating"
	}
	left := v.eta - now.Sub(v.etaAt)
	if left < 0 {
		left = 0
	}
	return "ETA " + roundDur(left)
}

func (v *liveView) requestsText() string {
	if v.limiter == nil {
		return ""
	}
	st := v.limiter.Stats()
	text := fmt.Sprintf("requests %d/%d a min", st.InWindow, v.limiter.PerMinute())
	if st.Others > 0 {
		text += fmt.Sprintf(" (%d by other runs)", st.Others)
	}
	return text
}

func roundDur(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	return d.Round(time.Second).String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// truncate shortens s to n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if n < 2 {
		n = 2
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// truncateAddr shortens an address to n runes by cutting its block name,
// so that the instance key, which tells rows of one block apart, stays:
// video.a_long_na…["market-09"]. An address whose key alone does not fit
// is cut at the end.
func truncateAddr(addr string, n int) string {
	i := strings.IndexByte(addr, '[')
	key := addr[max(i, 0):]
	if runeLen(addr) <= n || i <= 0 || runeLen(key)+2 > n {
		return truncate(addr, n)
	}
	return truncate(addr[:i], n-runeLen(key)) + key
}

// Close stops redrawing and leaves the finished lines, without the frame,
// so the summary prints below them.
func (v *liveView) Close() {
	close(v.stop)
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	v.draw(false)
}
