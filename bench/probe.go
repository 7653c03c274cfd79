package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/sim"
)

// probeStep is the resolution of measured latencies: a latency is reported
// as the first multiple of probeStep at which the task answered completed,
// so it overstates the true one by less than probeStep.
const probeStep = 100 * time.Millisecond

// probeHorizon bounds how far a probe waits for a task.
const probeHorizon = 30 * time.Minute

// probeLatencies measures the upstream latency of every async task a run
// created. The simulator draws a task's latency from the seed and the
// task's creation index, so a fresh simulator with the same seed, fed the
// same generate requests in the same order, creates the same tasks (the
// task ids are checked to match) with the same latencies. The probe
// simulator runs on a fake clock with no rate limit: it submits everything
// at once, then steps the clock by probeStep and polls what is still
// processing.
func probeLatencies(seed int64, gens []genRecord, sc Scenario) (map[string]time.Duration, error) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	const key = "xp_probe_key"
	srv := sim.New(append([]sim.Option{sim.WithSeed(seed), sim.WithClock(fake), sim.WithRateLimit(0),
		sim.WithKey(key, 1<<50)}, sc.simOptions()...)...)
	pollURLs := map[string]string{}
	for i, g := range gens {
		var ans struct {
			TaskID  string `json:"task_id"`
			PollURL string `json:"poll_url"`
		}
		code, body := serve(srv, key, http.MethodPost, g.Path, g.Body)
		if code != http.StatusOK {
			return nil, fmt.Errorf("probe: replaying generate %d (%s): status %d: %s", i, g.Path, code, body)
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			return nil, fmt.Errorf("probe: replaying generate %d: %w", i, err)
		}
		if ans.TaskID != g.TaskID {
			return nil, fmt.Errorf("probe: generate %d created task %q, the run created %q: the replay diverged", i, ans.TaskID, g.TaskID)
		}
		if g.Async {
			pollURLs[g.TaskID] = ans.PollURL
		}
	}
	lat := map[string]time.Duration{}
	for at := probeStep; len(pollURLs) > 0; at += probeStep {
		if at > probeHorizon {
			return nil, fmt.Errorf("probe: %d tasks still processing after %s", len(pollURLs), probeHorizon)
		}
		fake.Set(start.Add(at))
		for id, u := range pollURLs {
			code, body := serve(srv, key, http.MethodGet, u, nil)
			var ans struct {
				Status string `json:"status"`
			}
			if code != http.StatusOK || json.Unmarshal(body, &ans) != nil {
				return nil, fmt.Errorf("probe: polling %s: status %d: %s", id, code, body)
			}
			if ans.Status != "processing" {
				lat[id] = at
				delete(pollURLs, id)
			}
		}
	}
	return lat, nil
}

// serve sends one request straight to the simulator's handler.
func serve(h http.Handler, key, method, target string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}
