package executor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
)

// TestPollsSpacedAndFewerOnceLearned applies six videos twice: the second
// time with the latencies the first run recorded, and must poll less. At 12
// requests a minute the six submits and six polls fill the window, so no
// probe is spare: the polls are the scheduler's choice alone.
func TestPollsSpacedAndFewerOnceLearned(t *testing.T) {
	const n = 6
	h := newHarness(t, setup{rpm: 12})
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
		n += len(s.Intervals)
	}
	return n
}

// TestResumeAfterGapLearnsNoLatency resumes a task submitted ten hours
// earlier and found done at the first poll: how long it really took is not
// known, so nothing must be learned from it.
func TestResumeAfterGapLearnsNoLatency(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, oneVideo)
	stop := make(chan struct{})
	obs := &recorder{on: func(e executor.Event) {
		if e.Phase == executor.PhasePolling {
			close(stop)
		}
	}}
	h.apply(t, run{stop: stop, observer: obs})
	h.editState(t, func(st *state.State) {
		a := st.Assets["video.clip"]
		a.SubmittedAt = a.SubmittedAt.Add(-10 * time.Hour)
	})
	// Let the simulated task finish (at most 40 s on the shared clock).
	clock.Sleep(h.clock, 45*time.Second, nil)

	sum, p := h.apply(t, run{})
	if n, _ := p.Node("video.clip"); n.Action != planner.ActionResume {
		t.Fatalf("action got %s, want resume", n.Action)
	}
	if !sum.OK() {
		t.Fatalf("resume: failed %v", sum.Failed())
	}
	if got := learned(h.snapshot(t), "seedance-2.0/text-to-video"); got != 0 {
		t.Errorf("latency samples got %d, want 0: %v", got, h.snapshot(t).Models["seedance-2.0/text-to-video"].Latency)
	}
}
