package executor_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// branches has two independent branches: an async video with two levels of
// dependents, and a text -> sync image chain that no async fault touches.
const branches = `
video "clip" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "A cat walking on a beach at sunset"
  duration = 4
}

text "caption" {
  prompt = "Write a caption for task ${video.clip.task_id}"
}

image "poster" {
  model  = "bytedance/seedream-4.5"
  prompt = "Poster: ${text.caption.content}"
}

text "hook" {
  prompt = "One line for Aurora headphones"
}

image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "Hero shot: ${text.hook.content}"
}
`

func TestFailedTaskSkipsDependentsOnly(t *testing.T) {
	// TaskFailure hits async tasks only: here, the one video.
	h := newHarness(t, setup{sim: []sim.Option{sim.WithFaults(sim.Faults{TaskFailureRate: 1})}})
	h.write(t, branches)

	sum, _ := h.apply(t, run{})
	got := map[string]executor.Outcome{}
	msgs := map[string]string{}
	for _, a := range sum.Assets {
		got[a.Addr], msgs[a.Addr] = a.Outcome, a.Message
	}
	want := map[string]executor.Outcome{
		"video.clip": executor.OutcomeFailed, "text.caption": executor.OutcomeSkipped,
		"image.poster": executor.OutcomeSkipped, "text.hook": executor.OutcomeDone, "image.hero": executor.OutcomeDone,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	if sum.OK() {
		t.Errorf("OK() got true, want false")
	}
	failed := sum.Failed()
	if len(failed) != 1 || failed[0].Addr != "video.clip" {
		t.Fatalf("Failed() got %+v, want only video.clip", failed)
	}
	if !strings.HasPrefix(failed[0].Message, "generation failed: upstream generation failed") {
		t.Errorf("video.clip message got %q, want the API's failure text", failed[0].Message)
	}
	for _, addr := range []string{"text.caption", "image.poster"} {
		if m := msgs[addr]; !strings.Contains(m, "upstream failed") || !strings.Contains(m, "video.clip") {
			t.Errorf("%s message got %q, want \"upstream failed\" naming video.clip", addr, m)
		}
	}
	st := h.snapshot(t)
	if a := st.Assets["video.clip"]; a == nil || a.Status != state.StatusFailed || a.TaskID == "" {
		t.Errorf("state of video.clip got %+v, want failed with its task id", a)
	}
	for _, addr := range []string{"text.caption", "image.poster"} {
		if a := st.Assets[addr]; a != nil {
			t.Errorf("state of skipped %s got %+v, want no record", addr, a)
		}
	}
	checkCompleted(t, h, st, []string{"text.hook", "image.hero"})
}
