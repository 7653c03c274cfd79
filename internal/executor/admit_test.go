package executor_test

import (
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
)

// TestCriticalPathTakesTheFirstWindow: a text -> image -> video chain and
// five independent clips, 6 requests a minute. Every clip is ready at the
// start with the text; sent in arrival order, the clips took the window
// and the image (which the video waits on) went out when it slid, a
// minute later (mixed 60 in scripts/bench.sh sched: images at 61 s,
// videos at 122 s). The clips now wait while the window holds no more
// than the chain's next requests, so the image is sent within the first
// window and before the last clip, over HTTP against the simulator.
func TestCriticalPathTakesTheFirstWindow(t *testing.T) {
	h := newHarness(t, setup{rpm: 6})
	h.write(t, `
text "hook" {
  prompt = "One line for Aurora"
}

image "hero" {
  model  = "flux/pro-async"
  prompt = "${text.hook.content} (hero)"
}

video "spot" {
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in"
  image_url = image.hero.url
  duration  = 4
}

video "clip" {
  for_each = toset(["a", "b", "c", "d", "e"])
  model    = "wan-2.6/text-to-video"
  prompt   = "Clip ${each.key}"
}
`)
	m := h.mark()
	sum, _ := h.apply(t, run{})
	if !sum.OK() {
		t.Fatalf("apply: %v", sum.Counts())
	}
	log := h.since(m)
	if len(log) == 0 {
		t.Fatal("no request logged")
	}
	start := log[0].At
	var hero time.Time
	var clips []time.Time
	for _, r := range log {
		switch r.Endpoint {
		case "image.generate":
			hero = r.At
		case "video.generate":
			if r.Model == "wan-2.6/text-to-video" {
				clips = append(clips, r.At)
			}
		}
	}
	if hero.IsZero() || len(clips) != 5 {
		t.Fatalf("image submit at %v, %d clip submits; want one and 5", hero, len(clips))
	}
	if got := hero.Sub(start); got >= time.Minute {
		t.Errorf("the image, which the video waits on, was sent %v after the first request: it waited for the window to slide", got)
	}
	if last := clips[len(clips)-1]; !hero.Before(last) {
		t.Errorf("the image was sent at %v, after every clip (last at %v)", hero.Sub(start), last.Sub(start))
	}
	logStatuses(t, log)
}

// logStatuses fails on any 429: holding submits back must not cost one.
func logStatuses(t *testing.T, log []sim.Request) {
	t.Helper()
	for _, r := range log {
		if r.Status == 429 {
			t.Errorf("%s %s answered 429", r.Method, r.Path)
		}
	}
}
