package sim

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVideoCompletesAfterLatency(t *testing.T) {
	tests := map[string]struct {
		body         map[string]any
		wantProvider string
		wantPollURL  func(id string) string
	}{
		"seedance": {
			body:         map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "a cat", "duration": 8},
			wantProvider: "seedance",
			wantPollURL:  func(id string) string { return "/api/v1/video/" + id + "?provider=seedance" },
		},
		"wavespeed": {
			body:         map[string]any{"model": "wan-2.6/text-to-video", "prompt": "a dog", "duration": 10},
			wantProvider: "wavespeed",
			wantPollURL: func(id string) string {
				return "/api/v1/video/" + id + "?provider=wavespeed&pollUrl=" +
					url.QueryEscape("https://api.wavespeed.ai/api/v3/predictions/"+id+"/result")
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, WithLatency("video", 40*time.Second, 40*time.Second))
			sub := decodeInto[genResult](t, h.post("/api/v1/video/generate", tc.body))
			if diff := cmp.Diff([]string{"processing", tc.wantProvider, tc.wantPollURL(sub.TaskID)}, []string{sub.Status, sub.Provider, sub.PollURL}); diff != "" {
				t.Fatalf("generate status, provider, poll_url (-want +got):\n%s", diff)
			}
			h.clock.Advance(39 * time.Second)
			got := decodeInto[genResult](t, h.get(sub.PollURL))
			want := genResult{TaskID: sub.TaskID, Status: "processing", Provider: tc.wantProvider, Outputs: []string{}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("poll at 39 s (-want +got):\n%s", diff)
			}
			h.clock.Advance(time.Second)
			got = decodeInto[genResult](t, h.get(sub.PollURL))
			want = genResult{TaskID: sub.TaskID, Status: "completed", Provider: tc.wantProvider,
				Outputs: []string{h.run.URL + "/cdn/" + sub.TaskID + ".mp4"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("poll at 40 s (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollMistakes(t *testing.T) {
	h := start(t, WithKey(DefaultKey, 10000), WithKey("xp_other", 10000))
	sd := decodeInto[genResult](t, h.post("/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "a", "duration": 4}))
	ws := decodeInto[genResult](t, h.post("/api/v1/video/generate", map[string]any{"model": "wan-2.6/text-to-video", "prompt": "b"}))
	img := decodeInto[genResult](t, h.post("/api/v1/image/generate", map[string]any{"model": "flux/pro-async", "prompt": "c"}))
	wsQuery := ws.PollURL[strings.Index(ws.PollURL, "?"):]
	imgQuery := img.PollURL[strings.Index(img.PollURL, "?"):]
	tests := map[string]struct {
		path, key  string
		wantStatus int
		wantCode   string
	}{
		"seedance as given":                 {path: sd.PollURL, wantStatus: 200},
		"seedance without provider":         {path: "/api/v1/video/" + sd.TaskID, wantStatus: 400, wantCode: "INVALID_PARAMS"},
		"seedance as wavespeed":             {path: "/api/v1/video/" + sd.TaskID + wsQuery, wantStatus: 404, wantCode: "NOT_FOUND"},
		"seedance by another key":           {path: sd.PollURL, key: "xp_other", wantStatus: 404, wantCode: "NOT_FOUND"},
		"wavespeed as given":                {path: ws.PollURL, wantStatus: 200},
		"wavespeed without pollUrl":         {path: "/api/v1/video/" + ws.TaskID + "?provider=wavespeed", wantStatus: 400, wantCode: "INVALID_PARAMS"},
		"wavespeed default provider":        {path: "/api/v1/video/" + ws.TaskID + "?pollUrl=" + url.QueryEscape("https://api.wavespeed.ai/api/v3/predictions/"+ws.TaskID+"/result"), wantStatus: 200},
		"wavespeed as seedance":             {path: "/api/v1/video/" + ws.TaskID + "?provider=seedance", wantStatus: 404, wantCode: "NOT_FOUND"},
		"wavespeed with another pollUrl":    {path: "/api/v1/video/" + ws.TaskID + "?provider=wavespeed&pollUrl=https%3A%2F%2Fapi.wavespeed.ai%2Fx", wantStatus: 400, wantCode: "INVALID_PARAMS"},
		"wavespeed pollUrl of another task": {path: "/api/v1/video/" + sd.TaskID + wsQuery, wantStatus: 404, wantCode: "NOT_FOUND"},
		"async image as given":              {path: img.PollURL, wantStatus: 200},
		"async image on video path":         {path: "/api/v1/video/" + img.TaskID + imgQuery, wantStatus: 404, wantCode: "NOT_FOUND"},
		"video on image path":               {path: "/api/v1/image/" + ws.TaskID + wsQuery, wantStatus: 404, wantCode: "NOT_FOUND"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			key := tc.key
			if key == "" {
				key = h.key
			}
			r := h.send("GET", tc.path, key, nil)
			var gotCode string
			if r.status != 200 {
				gotCode = decodeInto[apiError](t, r).Error.Code
			}
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantCode}, []any{r.status, gotCode}); diff != "" {
				t.Errorf("status, code (-want +got):\n%s\nbody: %s", diff, r.body)
			}
		})
	}
}

func TestImageSyncAndAsync(t *testing.T) {
	h := start(t, WithLatency("image", 10*time.Second, 10*time.Second))
	sync := decodeInto[genResult](t, h.post("/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "city", "aspect_ratio": "16:9"}))
	want := genResult{TaskID: sync.TaskID, Status: "completed", Outputs: []string{h.run.URL + "/cdn/" + sync.TaskID + ".png"}, CostCents: ptr(5), Remaining: ptr(DefaultCredits - 5)}
	if diff := cmp.Diff(want, sync); diff != "" {
		t.Errorf("sync image (-want +got):\n%s", diff)
	}
	async := decodeInto[genResult](t, h.post("/api/v1/image/generate", map[string]any{"model": "flux/pro-async", "prompt": "city"}))
	want = genResult{TaskID: async.TaskID, Status: "processing", Provider: "wavespeed", PollURL: async.PollURL, CostCents: ptr(8), Remaining: ptr(DefaultCredits - 13)}
	if diff := cmp.Diff(want, async); diff != "" {
		t.Errorf("async image (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(async.PollURL, "/api/v1/image/"+async.TaskID+"?provider=wavespeed&pollUrl=") {
		t.Errorf("async poll_url = %q, want /api/v1/image/<id>?provider=wavespeed&pollUrl=...", async.PollURL)
	}
	if got := decodeInto[genResult](t, h.get(async.PollURL)).Status; got != "processing" {
		t.Errorf("async status before latency = %q, want processing", got)
	}
	h.clock.Advance(10 * time.Second)
	got := decodeInto[genResult](t, h.get(async.PollURL))
	if diff := cmp.Diff([]string{h.run.URL + "/cdn/" + async.TaskID + ".png"}, got.Outputs); got.Status != "completed" || diff != "" {
		t.Errorf("async after latency: status %q, outputs (-want +got):\n%s", got.Status, diff)
	}
}

func TestTaskFailure(t *testing.T) {
	h := start(t, WithLatency("video", time.Second, time.Second), WithFaults(Faults{TaskFailureRate: 1}))
	sub := decodeInto[genResult](t, h.post("/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "x", "duration": 4}))
	if got := decodeInto[genResult](t, h.get(sub.PollURL)).Status; got != "processing" {
		t.Errorf("status before latency = %q, want processing", got)
	}
	h.clock.Advance(time.Second)
	got := decodeInto[genResult](t, h.get(sub.PollURL))
	if got.Status != "failed" || got.Error == "" || len(got.Outputs) != 0 {
		t.Errorf("after latency got status %q, error %q, outputs %v; want failed with an error and no outputs", got.Status, got.Error, got.Outputs)
	}
	if r := h.send("GET", "/cdn/"+sub.TaskID+".mp4", "", nil); r.status != 404 {
		t.Errorf("CDN for failed task = %d, want 404", r.status)
	}
}
