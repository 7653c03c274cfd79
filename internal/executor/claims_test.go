package executor_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// otherRunners is a Claimer over records other runners left: what Wait and
// TryClaim find. Every claim succeeds; claims counts them.
type otherRunners struct {
	mu      sync.Mutex
	records map[string]*state.Asset
	claims  map[string]int
}

func (c *otherRunners) Wait(ctx context.Context, addr string) (*state.Asset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records[addr].Clone(), nil
}

func (c *otherRunners) TryClaim(ctx context.Context, addr string) (*state.Asset, func(), bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.claims[addr]++
	return c.records[addr].Clone(), func() {}, true, nil
}

// TestAdoptOtherRunnersRecords: with claims, a runner builds on what the
// otherRunners holds when it gets to an asset, not on its plan: another
// runner's completed text is done here too, its intent without a task id
// is unknown (never resent), and its video task in flight is resumed by
// polling, never resubmitted.
func TestAdoptOtherRunnersRecords(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, `
text "done" {
  prompt = "done elsewhere"
}
text "lost" {
  prompt = "lost elsewhere"
}
text "mine" {
  prompt = "about ${text.done.content}"
}
video "flying" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "in flight elsewhere"
  duration = 4
}
`)
	four := 4
	task, err := h.client.GenerateVideo(context.Background(), xpilot.VideoRequest{Model: "seedance-2.0/text-to-video", Prompt: "in flight elsewhere", Duration: &four})
	if err != nil {
		t.Fatal(err)
	}
	c := &otherRunners{claims: map[string]int{}, records: map[string]*state.Asset{
		"text.done": {Address: "text.done", Kind: "text", RequestHash: "h", Status: state.StatusCompleted,
			Content: "the other runner's words"},
		"text.lost": {Address: "text.lost", Kind: "text", RequestHash: "h", Status: state.StatusIntent},
		"video.flying": {Address: "video.flying", Kind: "video", Model: "seedance-2.0/text-to-video", RequestHash: "h",
			Status: state.StatusSubmitted, TaskID: task.TaskID, PollURL: task.PollURL, Provider: task.Provider},
	}}
	store, err := state.Open(h.state)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	mark := h.mark()
	p := h.planWith(t, store.Snapshot(), run{})
	sum, err := executor.Run(context.Background(), p, executor.Options{Client: h.client, Store: store, Clock: h.clock, Claims: c})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]executor.Outcome{"text.done": executor.OutcomeDone, "text.lost": executor.OutcomeUnknown,
		"text.mine": executor.OutcomeDone, "video.flying": executor.OutcomeDone}
	if diff := cmp.Diff(want, outcomes(sum)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	byOther := map[string]bool{}
	for _, a := range sum.Assets {
		byOther[a.Addr] = a.ByOther
	}
	// The summary tells what this run generated from what it adopted.
	wantOther := map[string]bool{"text.done": true, "text.lost": true, "text.mine": false, "video.flying": true}
	if diff := cmp.Diff(wantOther, byOther); diff != "" {
		t.Errorf("ByOther (-want +got):\n%s", diff)
	}
	wantGen := map[string]int{"about the other runner's words": 1}
	if diff := cmp.Diff(wantGen, generates(t, h.since(mark), 0)); diff != "" {
		t.Errorf("generates sent (-want +got):\n%s", diff)
	}
	st := store.Snapshot()
	if v := st.Assets["video.flying"]; v == nil || v.Status != state.StatusCompleted || v.TaskID != task.TaskID {
		t.Errorf("video.flying ended as %+v, want task %s completed", v, task.TaskID)
	}
	if diff := cmp.Diff(map[string]int{"text.lost": 1, "text.mine": 1, "video.flying": 1}, c.claims); diff != "" {
		t.Errorf("claims taken (-want +got):\n%s", diff)
	}
}
