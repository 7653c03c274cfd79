package executor_test

import (
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
)

// TestResumeOfATaskTheAPIDoesNotKnow: a recorded task the API answers 404
// for fails with a message naming -replace, the only way out; 'apply
// again' would meet the same 404.
func TestResumeOfATaskTheAPIDoesNotKnow(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, `video "spot" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "a slow push-in"
  duration = 4
}
`)
	h.editState(t, func(st *state.State) {
		st.Assets["video.spot"] = &state.Asset{Address: "video.spot", Kind: "video", Model: "seedance-2.0/text-to-video",
			RequestHash: "sha256:unknown", Status: state.StatusSubmitted, TaskID: "sd_000000000000",
			PollURL: "/api/v1/video/sd_000000000000?provider=seedance", Provider: "seedance",
			SubmittedAt: h.clock.Now(), IntentAt: h.clock.Now()}
	})
	sum, _ := h.apply(t, run{})
	if len(sum.Assets) != 1 || sum.Assets[0].Outcome != executor.OutcomeFailed {
		t.Fatalf("outcomes: %+v, want video.spot failed", sum.Assets)
	}
	if msg := sum.Assets[0].Message; !strings.Contains(msg, "(404)") || !strings.Contains(msg, "-replace 'video.spot'") {
		t.Errorf("message %q does not say the API lost the task and to use -replace", msg)
	}
	if a := h.snapshot(t).Assets["video.spot"]; a == nil || a.Status != state.StatusSubmitted || a.TaskID != "sd_000000000000" {
		t.Errorf("the record was not kept as it was: %+v", a)
	}
}
