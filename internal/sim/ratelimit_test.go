package sim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// step is one request at an offset from the previous step, and its answer.
type step struct {
	advance    time.Duration
	key        string // "" means the harness key
	wantStatus int
	wantRetry  string // Retry-After, "" when none
}

func TestRateLimitWindow(t *testing.T) {
	tests := map[string]struct {
		limit int
		steps []step
	}{
		"slides with the oldest request": {limit: 3, steps: []step{
			{0, "", 200, ""},
			{10 * time.Second, "", 200, ""},
			{10 * time.Second, "", 200, ""},
			{10 * time.Second, "", 429, "30"},                     // oldest (t0) leaves at t0+60
			{29*time.Second + 500*time.Millisecond, "", 429, "1"}, // 0.5 s left, rounded up
			{500 * time.Millisecond, "", 200, ""},                 // t0 left the window
			{0, "", 429, "10"},                                    // t0+10 leaves at t0+70
		}},
		"429s take no slot": {limit: 1, steps: []step{
			{0, "", 200, ""},
			{20 * time.Second, "", 429, "40"},
			{20 * time.Second, "", 429, "20"},
			{20 * time.Second, "", 200, ""}, // a 429'd request would have blocked this one
		}},
		"per key": {limit: 1, steps: []step{
			{0, "", 200, ""},
			{0, "xp_other", 200, ""},
			{0, "", 429, "60"},
			{0, "xp_other", 429, "60"},
		}},
		"auth before rate limit": {limit: 1, steps: []step{
			{0, "", 200, ""},
			{0, "xp_bad", 401, ""},
		}},
		"disabled": {limit: 0, steps: []step{
			{0, "", 200, ""}, {0, "", 200, ""}, {0, "", 200, ""},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, WithRateLimit(tc.limit), WithKey(DefaultKey, 100), WithKey("xp_other", 100))
			var got, want []step
			for _, s := range tc.steps {
				h.clock.Advance(s.advance)
				key := s.key
				if key == "" {
					key = h.key
				}
				r := h.send("GET", "/api/v1/models", key, nil)
				got = append(got, step{s.advance, s.key, r.status, r.header.Get("Retry-After")})
				want = append(want, s)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimitCountsPollsAndNotCDN(t *testing.T) {
	h := start(t, WithRateLimit(3), WithLatency(kindVideo, 0, 0))
	img := decodeInto[genResult](t, h.post("/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "x"}))
	for range 5 {
		if r := h.send("GET", cdnPath(t, img.Outputs[0]), "", nil); r.status != 200 {
			t.Fatalf("CDN status = %d, want 200", r.status)
		}
	}
	r := h.get("/api/v1/video/nope?provider=seedance")
	if r.status != 404 {
		t.Fatalf("poll status = %d, want 404", r.status)
	}
	r = h.get("/api/v1/models")
	if r.status != 200 {
		t.Fatalf("third API request status = %d, want 200", r.status)
	}
	r = h.get("/api/v1/models")
	if r.status != 429 {
		t.Errorf("fourth API request status = %d, want 429 (generate, poll and models count, CDN does not)", r.status)
	}
	c := h.run.Server.Counters()
	got := []int{c.Requests, c.Generates, c.Polls, c.CDN, c.RateLimited, c.Status[200], c.Status[404], c.ChargedCents}
	want := []int{9, 1, 1, 5, 1, 7, 1, 0 + 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counters [req gen poll cdn 429 200s 404s charged] (-want +got):\n%s", diff)
	}
}

func TestUnseenRequestsFillTheWindow(t *testing.T) {
	h := start(t, WithRateLimit(3), WithUnseenRequests(DefaultKey, 2, 50*time.Second))
	want := []step{
		{0, "", 200, ""},                // 2 unseen + this one
		{0, "", 429, "10"},              // the unseen ones leave at t0+10s
		{10 * time.Second, "", 200, ""}, // they left
		{0, "", 200, ""},
		{0, "", 429, "50"}, // the first seen one leaves at t0+60s
	}
	var got []step
	for _, s := range want {
		h.clock.Advance(s.advance)
		r := h.send("GET", "/api/v1/models", h.key, nil)
		got = append(got, step{s.advance, "", r.status, r.header.Get("Retry-After")})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if n := len(h.run.Server.Log()); n != len(want) {
		t.Errorf("log has %d requests, want the %d sent (unseen ones are not logged)", n, len(want))
	}
}
