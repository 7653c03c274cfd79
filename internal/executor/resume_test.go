package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

func TestStopWhileVideosProcessThenResume(t *testing.T) {
	// Videos take 100-200 s, 1-2 s of real time: long enough that a run
	// which did not stop at once would be seen waiting for them.
	h := newHarness(t, setup{sim: []sim.Option{sim.WithLatency("video", 100*time.Second, 200*time.Second)}})
	h.write(t, campaign(products, nil))
	everything, videos := campaignAddrs(products...), addrs("video.spot", products...)

	stop := make(chan struct{})
	var once sync.Once
	var stoppedAt atomic.Int64
	var submitted atomic.Int32
	obs := &recorder{on: func(e executor.Event) {
		if e.Phase == executor.PhasePolling && strings.HasPrefix(e.Addr, "video.") && submitted.Add(1) == int32(len(videos)) {
			once.Do(func() { stoppedAt.Store(time.Now().UnixNano()); close(stop) })
		}
	}}
	m := h.mark()
	sum, _ := h.apply(t, run{stop: stop, observer: obs})
	returned := time.Now()
	log1 := h.since(m)
	if stoppedAt.Load() == 0 {
		t.Fatalf("the videos never reached polling; outcomes %v", outcomes(sum))
	}
	if took := returned.Sub(time.Unix(0, stoppedAt.Load())); took > time.Second {
		t.Errorf("Run returned %v (real time) after Stop, want quickly", took)
	}
	if !sum.Interrupted || sum.OK() {
		t.Errorf("Interrupted got %v, OK() got %v; want true, false", sum.Interrupted, sum.OK())
	}
	want := merge(all(executor.OutcomeDone, everything...), all(executor.OutcomeGenerating, videos...))
	if diff := cmp.Diff(want, outcomes(sum)); diff != "" {
		t.Fatalf("first apply outcomes (-want +got):\n%s", diff)
	}
	st := h.snapshot(t)
	taskIDs := map[string]bool{}
	for _, addr := range videos {
		a := st.Assets[addr]
		if a == nil || a.Status != state.StatusSubmitted || a.TaskID == "" || a.PollURL == "" {
			t.Fatalf("state of %s got %+v, want submitted with task_id and poll_url", addr, a)
		}
		taskIDs[a.TaskID] = true
	}

	m = h.mark()
	sum, p := h.apply(t, run{})
	log2 := h.since(m)
	wantActions := merge(all(planner.ActionNoop, everything...), all(planner.ActionResume, videos...))
	if diff := cmp.Diff(wantActions, actions(p)); diff != "" {
		t.Errorf("second plan actions (-want +got):\n%s", diff)
	}
	if !sum.OK() {
		t.Fatalf("second apply: OK() got false; outcomes %v, failed %v", outcomes(sum), sum.Failed())
	}
	if got := count(log2, isGenerate); got != 0 {
		t.Errorf("second apply sent %d generates, want 0", got)
	}
	for id := range pollGaps(t, log2) {
		if !taskIDs[id] {
			t.Errorf("second apply polled task %s, not one recorded by the first", id)
		}
	}
	pollGaps(t, append(log1, log2...))
	st = h.snapshot(t)
	checkCompleted(t, h, st, everything)
	for _, addr := range videos {
		if !taskIDs[st.Assets[addr].TaskID] {
			t.Errorf("%s completed as task %s, not the recorded one", addr, st.Assets[addr].TaskID)
		}
	}
}

const oneVideo = `
video "clip" {
  model    = "seedance-2.0/text-to-video"
  prompt   = "A cat walking on a beach at sunset"
  duration = 4
}
`

func TestUnknownOutcomeIsNotResentUntilReplace(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, oneVideo)
	const addr = "video.clip"

	// The generate's connection drops: the POST may or may not have counted.
	m := h.mark()
	sum, _ := h.apply(t, run{before: func(*planner.Plan) { h.sim.Server.SetFaults(sim.Faults{DropConnN: 1}) }})
	h.sim.Server.SetFaults(sim.Faults{})
	if diff := cmp.Diff(all(executor.OutcomeUnknown, addr), outcomes(sum)); diff != "" {
		t.Fatalf("first apply outcomes (-want +got):\n%s", diff)
	}
	if got := count(h.since(m), isGenerate); got != 1 {
		t.Errorf("first apply sent %d generates, want 1", got)
	}
	if a := h.snapshot(t).Assets[addr]; a == nil || a.Status != state.StatusIntent {
		t.Fatalf("state got %+v, want an intent record", a)
	}

	// Plain re-apply: planned unknown, nothing resent.
	m = h.mark()
	sum, p := h.apply(t, run{})
	if diff := cmp.Diff(all(planner.ActionUnknown, addr), actions(p)); diff != "" {
		t.Errorf("second plan actions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all(executor.OutcomeUnknown, addr), outcomes(sum)); diff != "" {
		t.Errorf("second apply outcomes (-want +got):\n%s", diff)
	}
	if f := sum.Failed(); sum.OK() || len(f) != 1 || !strings.Contains(f[0].Message, "-replace") {
		t.Errorf("second apply: OK() %v, Failed() %+v; want not OK and a message pointing at -replace", sum.OK(), f)
	}
	if got := count(h.since(m), isGenerate); got != 0 {
		t.Errorf("second apply sent %d generates, want 0", got)
	}

	// -replace resubmits it, once.
	m = h.mark()
	sum, p = h.apply(t, run{replace: []string{addr}})
	if diff := cmp.Diff(all(planner.ActionReplace, addr), actions(p)); diff != "" {
		t.Errorf("replace plan actions (-want +got):\n%s", diff)
	}
	if !sum.OK() {
		t.Fatalf("replace apply: failed %v", sum.Failed())
	}
	if diff := cmp.Diff(map[string]int{"A cat walking on a beach at sunset": 1}, generates(t, h.since(m), 200)); diff != "" {
		t.Errorf("replace apply generates (-want +got):\n%s", diff)
	}
	checkCompleted(t, h, h.snapshot(t), []string{addr})
}

func TestMissingFileIsDownloadedAgain(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, campaign(products[:1], nil))
	everything := campaignAddrs(products[:1]...)
	h.apply(t, run{})
	st := h.snapshot(t)
	gone := addrs("video.spot", products[0])[0]
	file := filepath.Join(h.dir, filepath.FromSlash(st.Assets[gone].Outputs[0].File))
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}

	m := h.mark()
	sum, p := h.apply(t, run{})
	log := h.since(m)
	want := merge(all(planner.ActionNoop, everything...), all(planner.ActionDownload, gone))
	if diff := cmp.Diff(want, actions(p)); diff != "" {
		t.Errorf("plan actions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all(executor.OutcomeDone, gone), filterDone(outcomes(sum))); diff != "" {
		t.Errorf("outcomes done (-want +got):\n%s", diff)
	}
	if got := count(log, isGenerate); got != 0 {
		t.Errorf("sent %d generates, want 0", got)
	}
	if got := count(log, func(r sim.Request) bool { return r.Endpoint == "cdn" }); got != 1 {
		t.Errorf("fetched %d CDN files, want 1", got)
	}
	after := h.snapshot(t)
	checkCompleted(t, h, after, everything)
	if diff := cmp.Diff(st.Assets[gone].Outputs, after.Assets[gone].Outputs); diff != "" {
		t.Errorf("outputs changed by the download (-before +after):\n%s", diff)
	}
}

// filterDone keeps the done outcomes.
func filterDone(m map[string]executor.Outcome) map[string]executor.Outcome {
	out := map[string]executor.Outcome{}
	for k, v := range m {
		if v == executor.OutcomeDone {
			out[k] = v
		}
	}
	return out
}

func TestStopSkipsDependentsOfGeneratingTasks(t *testing.T) {
	h := newHarness(t, setup{sim: []sim.Option{sim.WithLatency("video", 100*time.Second, 200*time.Second)}})
	h.write(t, branches)
	stop := make(chan struct{})
	obs := &recorder{on: func(e executor.Event) {
		if e.Phase == executor.PhasePolling && e.Addr == "video.clip" {
			close(stop)
		}
	}}
	sum, _ := h.apply(t, run{stop: stop, observer: obs})
	got := map[string]string{}
	for _, a := range sum.Assets {
		if a.Addr == "video.clip" || a.Addr == "text.caption" || a.Addr == "image.poster" {
			got[a.Addr] = string(a.Outcome) + ": " + a.Message
		}
	}
	const why = "not started: video.clip is still generating; apply again to resume"
	want := map[string]string{
		"video.clip":   "generating: still generating as task " + h.snapshot(t).Assets["video.clip"].TaskID + "; apply again to resume",
		"text.caption": "skipped: " + why,
		"image.poster": "skipped: " + why,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	m := h.mark()
	sum, _ = h.apply(t, run{})
	if !sum.OK() {
		t.Fatalf("second apply: failed %v, outcomes %v", sum.Failed(), outcomes(sum))
	}
	if got := count(h.since(m), func(r sim.Request) bool { return r.Endpoint == "video.generate" }); got != 0 {
		t.Errorf("second apply sent %d video generates, want 0", got)
	}
}
