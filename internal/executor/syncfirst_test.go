package executor_test

import (
	"sync"
	"testing"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
)

// TestSyncAnswerIsFinalInTheFirstWrite checks what a crash right after a
// synchronous generate would leave: the record written before the
// "submitted" event must already hold the final status and the paid output
// URLs, never a "submitted" task with no poll_url to resume from.
func TestSyncAnswerIsFinalInTheFirstWrite(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, `
image "still" {
  model  = "bytedance/seedream-4.5"
  prompt = "A lighthouse at dusk"
}
`)
	var mu sync.Mutex
	var seen *state.Asset
	obs := executor.ObserverFunc(func(e executor.Event) {
		if e.Phase != executor.PhaseSubmitted {
			return
		}
		st, err := state.Load(h.state) // what a crash at this instant would leave
		if err != nil {
			t.Errorf("load state: %v", err)
			return
		}
		mu.Lock()
		seen = st.Assets[e.Addr]
		mu.Unlock()
	})
	sum, _ := h.apply(t, run{observer: obs})
	if !sum.OK() {
		t.Fatalf("apply failed: %+v", sum.Failed())
	}
	mu.Lock()
	defer mu.Unlock()
	if seen == nil {
		t.Fatal("no submitted event")
	}
	if seen.Status != state.StatusCompleted || len(seen.Outputs) != 1 || seen.Outputs[0].URL == "" {
		t.Errorf("record at the submitted event: status %s, outputs %+v; want completed with the output URL", seen.Status, seen.Outputs)
	}
}
