package executor_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
)

// TestPollsSpacedAndFewerOnceLearned applies six videos twice: the second
// time with the latencies the first run recorded, and must poll less.
func TestPollsSpacedAndFewerOnceLearned(t *testing.T) {
	const n = 6
	h := newHarness(t, setup{})
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%q", fmt.Sprintf("v%d", i))
	}
	h.write(t, fmt.Sprintf(`
video "clip" {
  for_each = toset([%s])
  model    = "seedance-2.0/text-to-video"
  prompt   = "Clip ${each.key}"
  duration = 4
}
`, strings.Join(keys, ", ")))

	polls := make([]int, 2)
	for i := range polls {
		m := h.mark()
		sum, _ := h.apply(t, run{replace: []string{"video.clip"}})
		if got := sum.Counts()[executor.OutcomeDone]; got != n {
			t.Fatalf("run %d: done got %d, want %d; failed %v", i+1, got, n, sum.Failed())
		}
		per := pollGaps(t, h.since(m))
		if len(per) != n {
			t.Errorf("run %d: polled %d tasks, want %d", i+1, len(per), n)
		}
		for _, c := range per {
			polls[i] += c
		}
		if i == 0 {
			st := h.snapshot(t)
			if got := learned(st, "seedance-2.0/text-to-video"); got != n {
				t.Errorf("run 1 recorded %d latency samples, want %d", got, n)
			}
		}
	}
	t.Logf("polls per run: %v", polls)
	if polls[1] >= polls[0] {
		t.Errorf("polls with learned latencies got %d, want fewer than the first run's %d", polls[1], polls[0])
	}
}

// learned counts the latency samples recorded for model.
func learned(st *state.State, model string) int {
	ms := st.Models[model]
	if ms == nil {
		return 0
	}
	n := 0
	for _, s := range ms.Latency {
		n += len(s.Seconds)
	}
	return n
}
