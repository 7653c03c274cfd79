package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// try makes a GET /api/v1/models and reports the status, or -1 when the
// connection failed without an answer.
func (h *harness) try(ctx context.Context) (int, []byte, http.Header) {
	req, err := http.NewRequestWithContext(ctx, "GET", h.run.URL+"/api/v1/models", nil)
	if err != nil {
		h.t.Fatalf("NewRequest: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+h.key)
	// A fresh transport per request: no retry on a reused idle connection.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return -1, nil, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1, nil, nil
	}
	return resp.StatusCode, b, resp.Header
}

func TestAnswerFaults(t *testing.T) {
	tests := map[string]struct {
		faults     Faults
		wantStatus []int  // per request; -1: connection dropped
		wantValid  []bool // body is valid JSON
	}{
		"drop first two":     {Faults{DropConnN: 2}, []int{-1, -1, 200}, []bool{false, false, true}},
		"truncate first":     {Faults{TruncateJSONN: 1}, []int{200, 200}, []bool{false, true}},
		"force 429 first":    {Faults{Force429N: 2, RetryAfter: 2500 * time.Millisecond}, []int{429, 429, 200}, []bool{true, true, true}},
		"drop all by rate":   {Faults{DropConnRate: 1}, []int{-1, -1}, []bool{false, false}},
		"truncate all, rate": {Faults{TruncateJSONRate: 1}, []int{200, 200}, []bool{false, false}},
		"429 all by rate":    {Faults{Force429Rate: 1}, []int{429, 429}, []bool{true, true}},
		"none":               {Faults{}, []int{200, 200}, []bool{true, true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, WithFaults(tc.faults))
			var gotStatus []int
			var gotValid []bool
			for range tc.wantStatus {
				status, body, hdr := h.try(context.Background())
				gotStatus = append(gotStatus, status)
				gotValid = append(gotValid, json.Valid(body))
				wantRetry := "2" // the default
				if tc.faults.RetryAfter > 0 {
					wantRetry = "3" // 2.5 s rounded up
				}
				if got := hdr.Get("Retry-After"); status == 429 && got != wantRetry {
					t.Errorf("forced 429 Retry-After = %q, want %q", got, wantRetry)
				}
			}
			if diff := cmp.Diff(tc.wantStatus, gotStatus); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantValid, gotValid); diff != "" {
				t.Errorf("valid JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncatedGenerateIsCharged(t *testing.T) {
	h := start(t, WithFaults(Faults{TruncateJSONN: 1}))
	r := h.post("/api/v1/text/generate", map[string]any{"prompt": "p"})
	if r.status != 200 || json.Valid(r.body) {
		t.Fatalf("got %d %q, want 200 with a cut body", r.status, r.body)
	}
	if got := h.run.Server.Credits(h.key); got != DefaultCredits-1 {
		t.Errorf("balance = %d, want %d: the request was processed, only the answer was cut", got, DefaultCredits-1)
	}
}

func TestSubmitErrorNotCharged(t *testing.T) {
	h := start(t, WithFaults(Faults{SubmitErrorN: 1}))
	body := map[string]any{"model": "wan-2.6/text-to-video", "prompt": "p"}
	got := []int{h.post("/api/v1/video/generate", body).status, h.run.Server.Credits(h.key)}
	got = append(got, h.post("/api/v1/video/generate", body).status, h.run.Server.Credits(h.key))
	want := []int{500, DefaultCredits, 200, DefaultCredits - 150}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status, balance (-want +got):\n%s", diff)
	}
}

func TestSlowResponse(t *testing.T) {
	h := start(t, WithFaults(Faults{SlowResponse: 30 * time.Second}))
	type result struct {
		status int
	}
	done := make(chan result, 1)
	go func() {
		s, _, _ := h.try(context.Background())
		done <- result{s}
	}()
	if !h.clock.WaitForTimers(1, nil) {
		t.Fatal("no timer started")
	}
	h.clock.Advance(29 * time.Second)
	select {
	case r := <-done:
		t.Fatalf("answered %d after 29 s of a 30 s delay", r.status)
	default:
	}
	h.clock.Advance(time.Second)
	if r := <-done; r.status != 200 {
		t.Errorf("status = %d, want 200", r.status)
	}
}

func TestSlowResponseClientGivesUp(t *testing.T) {
	h := start(t, WithFaults(Faults{SlowResponse: time.Minute}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		s, _, _ := h.try(ctx)
		done <- s
	}()
	h.clock.WaitForTimers(1, nil)
	cancel()
	if s := <-done; s != -1 {
		t.Errorf("status = %d, want no answer", s)
	}
	// The handler notices the closed connection and logs no answer.
	deadline := time.Now().Add(5 * time.Second)
	for h.run.Server.Counters().Status[0] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("handler did not give up: log %+v", h.run.Server.Log())
		}
		time.Sleep(time.Millisecond) // waiting on the server's goroutine, not on timing logic
	}
	if got := h.clock.Pending(); got != 0 {
		t.Errorf("pending timers = %d, want 0 after the client left", got)
	}
}

func TestSetFaultsStormThenRecover(t *testing.T) {
	h := start(t, WithRateLimit(0))
	var got []int
	for _, f := range []Faults{{Force429Rate: 1}, {}} {
		h.run.Server.SetFaults(f)
		for range 3 {
			s, _, _ := h.try(context.Background())
			got = append(got, s)
		}
	}
	h.run.Server.SetFaults(Faults{Force429N: 1})
	for range 2 {
		s, _, _ := h.try(context.Background())
		got = append(got, s)
	}
	want := []int{429, 429, 429, 200, 200, 200, 429, 200}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if c := h.run.Server.Counters(); c.RateLimited != 4 {
		t.Errorf("RateLimited = %d, want 4", c.RateLimited)
	}
}

func TestFaultsDeterministicUnderSeed(t *testing.T) {
	pattern := func(seed int64) string {
		h := start(t, WithSeed(seed), WithRateLimit(0), WithFaults(Faults{Force429Rate: 0.5}))
		var b strings.Builder
		for range 40 {
			s, _, _ := h.try(context.Background())
			b.WriteString(map[int]string{200: ".", 429: "x"}[s])
		}
		return b.String()
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	if a != b {
		t.Errorf("same seed gave %s and %s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same pattern %s", a)
	}
	if n := strings.Count(a, "x"); n < 8 || n > 32 {
		t.Errorf("rate 0.5 hit %d of 40 requests: %s", n, a)
	}
}

func TestDroppedConnectionLogged(t *testing.T) {
	h := start(t, WithFaults(Faults{DropConnN: 1}))
	_, err := http.Get(h.run.URL + "/api/v1/models")
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a connection error", err)
	}
	log := h.run.Server.Log()
	if len(log) != 1 || log[0].Status != 0 || log[0].Code != "CONNECTION_DROPPED" {
		t.Errorf("log = %+v, want one dropped entry", log)
	}
}
