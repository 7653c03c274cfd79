package sim

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// session runs the same requests against a fresh simulator and returns the
// answers and output files, in order.
func session(t *testing.T, seed int64) []string {
	h := start(t, WithSeed(seed), WithLatency("video", 10*time.Second, 90*time.Second))
	var out []string
	for _, body := range []map[string]any{
		{"model": "seedance-2.0/text-to-video", "prompt": "a cat", "duration": 4},
		{"model": "wan-2.6/text-to-video", "prompt": "a cat"},
	} {
		sub := decodeInto[genResult](t, h.post("/api/v1/video/generate", body))
		h.clock.Advance(90 * time.Second)
		done := decodeInto[genResult](t, h.get(sub.PollURL))
		out = append(out, sub.TaskID, sub.PollURL, string(h.send("GET", cdnPath(t, done.Outputs[0]), "", nil).body))
	}
	img := decodeInto[genResult](t, h.post("/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "a cat"}))
	out = append(out, img.TaskID, string(h.send("GET", cdnPath(t, img.Outputs[0]), "", nil).body))
	out = append(out, string(h.post("/api/v1/text/generate", map[string]any{"prompt": "a cat"}).body))
	return out
}

func TestDeterministicUnderSeed(t *testing.T) {
	a, b, c := session(t, 42), session(t, 42), session(t, 43)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different answers (-first +second):\n%s", diff)
	}
	if a[0] == c[0] {
		t.Errorf("seeds 42 and 43 gave the same task id %s", a[0])
	}
	if a[2] == a[5] {
		t.Errorf("two video tasks served the same bytes")
	}
}

func TestLatencyWithinRange(t *testing.T) {
	h := start(t, WithLatency("video", 30*time.Second, 120*time.Second), WithRateLimit(0))
	ready := map[time.Duration]bool{}
	for i := range 10 {
		sub := decodeInto[genResult](t, h.post("/api/v1/video/generate", map[string]any{"model": "wan-2.6/text-to-video", "prompt": fmt.Sprint(i)}))
		h.run.Server.mu.Lock()
		d := h.run.Server.tasks[sub.TaskID].ready.Sub(t0)
		h.run.Server.mu.Unlock()
		if d < 30*time.Second || d > 120*time.Second {
			t.Errorf("task %d latency %v, want within [30s, 120s]", i, d)
		}
		ready[d] = true
	}
	if len(ready) < 5 {
		t.Errorf("10 tasks drew only %d distinct latencies", len(ready))
	}
}

func TestText(t *testing.T) {
	tests := map[string]struct {
		body      map[string]any
		wantWords int // at most
		wantIn    []string
	}{
		"doc example": {map[string]any{"model": "openai/gpt-4o", "prompt": "Write a tweet about AI video generation", "max_tokens": 280}, 280, []string{"video"}},
		"tiny budget": {map[string]any{"prompt": "Launch hook for Lumen running shoes", "max_tokens": 4}, 4, nil},
		"one token":   {map[string]any{"prompt": "Launch hook for Lumen running shoes", "max_tokens": 1}, 1, nil},
		"with system": {map[string]any{"prompt": "sunrise coffee ritual", "system": "You write hooks.", "temperature": 0}, 1000, []string{"sunrise"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t)
			first := h.post("/api/v1/text/generate", tc.body)
			second := h.post("/api/v1/text/generate", tc.body)
			if !bytes.Equal(first.body[:bytes.Index(first.body, []byte(`"remaining`))], second.body[:bytes.Index(second.body, []byte(`"remaining`))]) {
				t.Errorf("same request, different answers:\n%s\n%s", first.body, second.body)
			}
			got := decodeInto[struct {
				Content string `json:"content"`
				Model   string `json:"model"`
				Usage   struct {
					Prompt     int `json:"prompt_tokens"`
					Completion int `json:"completion_tokens"`
					Total      int `json:"total_tokens"`
				} `json:"usage"`
			}](t, first)
			if n := len(strings.Fields(got.Content)); n == 0 || n > tc.wantWords {
				t.Errorf("content %q has %d words, want 1..%d", got.Content, n, tc.wantWords)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(strings.ToLower(got.Content), w) {
					t.Errorf("content %q does not mention %q", got.Content, w)
				}
			}
			u := got.Usage
			if u.Prompt <= 0 || u.Completion <= 0 || u.Total != u.Prompt+u.Completion {
				t.Errorf("usage %+v is not plausible", u)
			}
			if got.Model == "" {
				t.Errorf("model missing")
			}
		})
	}
}

func TestConcurrentClients(t *testing.T) {
	const clients, each = 16, 12
	h := start(t, WithRateLimit(50), WithLatency("video", 0, 0), WithLatency("image", 0, 0),
		WithFaults(Faults{TruncateJSONRate: 0.1, Force429Rate: 0.1, SubmitErrorRate: 0.1}))
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var r reply
				switch i % 4 {
				case 0:
					r = h.post("/api/v1/video/generate", map[string]any{"model": "wan-2.6/text-to-video", "prompt": fmt.Sprint(c, i)})
				case 1:
					r = h.post("/api/v1/image/generate", map[string]any{"model": "flux/pro-async", "prompt": fmt.Sprint(c, i)})
				case 2:
					r = h.post("/api/v1/text/generate", map[string]any{"prompt": fmt.Sprint(c, i)})
				default:
					r = h.get("/api/v1/models")
				}
				var sub genResult
				if r.status == 200 && decodeLenient(r.body, &sub) && sub.PollURL != "" {
					h.get(sub.PollURL)
				}
			}
		}()
	}
	wg.Wait()
	s := h.run.Server
	c := s.Counters()
	if got, want := DefaultCredits-s.Credits(h.key), c.ChargedCents; got != want {
		t.Errorf("balance went down by %d, counters say %d charged", got, want)
	}
	sum := 0
	for _, e := range s.Log() {
		sum += e.Charged
	}
	if sum != c.ChargedCents || len(s.Log()) != c.Requests {
		t.Errorf("log charges %d over %d entries, counters %d over %d", sum, len(s.Log()), c.ChargedCents, c.Requests)
	}
	if c.Generates != clients*each*3/4 {
		t.Errorf("Generates = %d, want %d", c.Generates, clients*each*3/4)
	}
	if c.RateLimited == 0 || c.Status[200] == 0 {
		t.Errorf("counters %+v: want both 200s and 429s under this load", c)
	}
}
