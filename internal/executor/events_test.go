package executor_test

import (
	"testing"

	"github.com/xpflow/xpflow/internal/executor"
)

// TestEventsSayWhenASubmitWaitsForTheWindow applies more synchronous images
// than the window holds: the ones past the window must be reported waiting
// for the rate limit, then submitting; and every event carries the
// scheduler's forecast, which reaches zero when nothing is left.
func TestEventsSayWhenASubmitWaitsForTheWindow(t *testing.T) {
	const n, perMinute = 14, 10
	h := newHarness(t, setup{scale: 60, rpm: perMinute})
	writeImages(t, h, n)
	obs := &recorder{}
	sum, _ := h.apply(t, run{observer: obs})
	if got := sum.Counts()[executor.OutcomeDone]; got != n {
		t.Fatalf("done got %d, want %d; failed %v", got, n, sum.Failed())
	}
	phases := map[string][]executor.Phase{}
	etaPositive := 0
	for _, e := range obs.events {
		phases[e.Addr] = append(phases[e.Addr], e.Phase)
		if e.ETA > 0 {
			etaPositive++
		}
		if e.ETA < 0 {
			t.Errorf("%s %s: ETA %v, want >= 0", e.Addr, e.Phase, e.ETA)
		}
	}
	waited := 0
	for addr, ps := range phases {
		for i, p := range ps {
			if p != executor.PhaseRateLimited {
				continue
			}
			waited++
			if i+1 >= len(ps) || ps[i+1] != executor.PhaseSubmitting {
				t.Errorf("%s: phases %v, want rate-limited followed by submitting", addr, ps)
			}
		}
	}
	// The first perMinute submits find a free slot; the catalog took one.
	if want := n - perMinute + 1; waited < want {
		t.Errorf("%d assets reported waiting for the rate limit, want at least %d", waited, want)
	}
	if etaPositive == 0 {
		t.Error("no event carried a forecast while submits were still to send")
	}
	if last := obs.events[len(obs.events)-1]; last.ETA != 0 {
		t.Errorf("the last event (%s %s) forecasts %v, want 0", last.Addr, last.Phase, last.ETA)
	}
}
