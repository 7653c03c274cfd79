package executor_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
)

func TestLimiterHoldsOverManyImages(t *testing.T) {
	const n, perMinute = 45, 30
	h := newHarness(t, setup{scale: 60, rpm: perMinute})
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
