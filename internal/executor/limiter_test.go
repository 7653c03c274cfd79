package executor_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// writeImages writes a campaign of n synchronous images.
func writeImages(t *testing.T, h *harness, n int) {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%q", fmt.Sprintf("s%02d", i))
	}
	h.write(t, fmt.Sprintf(`
image "shot" {
  for_each = toset([%s])
  model    = "bytedance/seedream-4.5"
  prompt   = "Product shot ${each.key}"
}
`, strings.Join(keys, ", ")))
}

func TestLimiterHoldsOverManyImages(t *testing.T) {
	const n, perMinute = 45, 30
	h := newHarness(t, setup{scale: 60, rpm: perMinute})
	writeImages(t, h, n)

	m := h.mark()
	start := h.clock.Now()
	sum, _ := h.apply(t, run{})
	log := h.since(m)
	if got := sum.Counts()[executor.OutcomeDone]; got != n {
		t.Fatalf("done got %d, want %d; failed %v", got, n, sum.Failed())
	}
	var times []time.Time
	for _, r := range log {
		if !isAPI(r) {
			continue
		}
		if r.Status == 429 {
			t.Errorf("request %s %s answered 429", r.Method, r.Path)
		}
		times = append(times, r.At)
	}
	if got, want := len(times), n+1; got != want { // the catalog, then one generate each
		t.Errorf("API requests got %d, want %d", got, want)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 0; i+perMinute < len(times); i++ {
		if d := times[i+perMinute].Sub(times[i]); d < time.Minute {
			t.Errorf("requests %d..%d (%d of them) arrived within %v, want at most %d per minute",
				i, i+perMinute, perMinute+1, d, perMinute)
		}
	}
	// 46 requests cannot fit in one window: the run must have waited. (No
	// upper bound: on a scaled clock, CPU time under -race counts k-fold.)
	if took := h.clock.Now().Sub(start); took < time.Minute {
		t.Errorf("apply took %v on the scaled clock, want at least a minute", took)
	}
	if got := generates(t, log, 200); len(got) != n {
		t.Errorf("paid generates cover %d prompts, want %d", len(got), n)
	}
}

// TestStopDropsSubmitsWaitingForTheLimiter stops a run whose submits are
// queued behind a full rate-limit window: they must not be sent later, and
// their assets must not be left as unknown intents.
func TestStopDropsSubmitsWaitingForTheLimiter(t *testing.T) {
	const n, perMinute = 34, 30
	h := newHarness(t, setup{scale: 20, rpm: perMinute})
	writeImages(t, h, n)
	stop := make(chan struct{})
	var once sync.Once
	var submitted atomic.Int32
	var stopAt atomic.Int64
	obs := &recorder{on: func(e executor.Event) {
		// The catalog and 29 generates fill the window; stop on the 29th answer.
		if e.Phase == executor.PhaseSubmitted && submitted.Add(1) == perMinute-1 {
			once.Do(func() { stopAt.Store(h.clock.Now().UnixNano()); close(stop) })
		}
	}}
	m := h.mark()
	sum, _ := h.apply(t, run{stop: stop, observer: obs})
	log := h.since(m)
	sent := count(log, isGenerate)
	late := count(log, func(r sim.Request) bool {
		return isGenerate(r) && r.At.After(time.Unix(0, stopAt.Load()).Add(5*time.Second))
	})
	if late != 0 {
		t.Errorf("%d generates arrived more than 5 s after Stop, want 0", late)
	}
	counts := sum.Counts()
	if counts[executor.OutcomeDone] != sent {
		t.Errorf("done got %d, want one per generate sent (%d); outcomes %v", counts[executor.OutcomeDone], sent, counts)
	}
	if got := counts[executor.OutcomeSkipped]; got != n-sent {
		t.Errorf("skipped got %d, want %d", got, n-sent)
	}
	for addr, a := range h.snapshot(t).Assets {
		if a.Status != state.StatusCompleted {
			t.Errorf("state of %s got %s, want only completed records", addr, a.Status)
		}
	}
	p := h.plan(t, run{})
	if got := p.Counts()[planner.ActionUnknown]; got != 0 {
		t.Errorf("next plan has %d unknown, want 0", got)
	}
}
