package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// simKey is the API key of every benchmark simulator.
const simKey = "xp_bench_key"

// simEnv is a recorded simulator served on loopback.
type simEnv struct {
	http *httptest.Server
	rec  *recorder
	seed int64
}

// startSim serves a fresh simulator with the scenario's latencies on c.
func startSim(c clock.Clock, seed int64, perMinute int, sc Scenario) *simEnv {
	s := sim.New(append([]sim.Option{sim.WithClock(c), sim.WithSeed(seed), sim.WithRateLimit(perMinute),
		sim.WithKey(simKey, 1<<40)}, sc.simOptions()...)...)
	rec := newRecorder(s, c)
	return &simEnv{http: httptest.NewServer(rec), rec: rec, seed: seed}
}

func (e *simEnv) close() { e.http.Close() }

// client returns a client of the simulator with its own limiter on c.
func (e *simEnv) client(c clock.Clock, perMinute int) (*xpilot.Client, error) {
	return xpilot.New(xpilot.Config{BaseURL: e.http.URL, APIKey: simKey, Clock: c,
		Limiter: xpilot.NewLimiter(perMinute, c), HTTPClient: e.http.Client()})
}

// Result is one run of one scenario.
type Result struct {
	Makespan time.Duration
	// Requests counts API requests, 429s included, the catalog excluded.
	Requests int
	// Async is the number of async assets; AsyncRequests the requests
	// spent on them (Requests less one per sync asset).
	Async, AsyncRequests int
	Limited              int
	// Bounds is set for xpflow runs.
	Bounds Bounds
	// Diag explains where the time and the polls went (xpflow runs).
	Diag string
	// Trace has one line per async task of an xpflow run, in submit
	// order: when it was submitted, its true latency, and when each of
	// its polls went out (since submit) and what it answered.
	Trace []string
	// Estimate compares the learned latency quantiles with the true ones
	// (xpflow runs of one block of videos).
	Estimate *EstimateCheck
}

// PerAsync is the number of requests per async asset.
func (r Result) PerAsync() float64 {
	if r.Async == 0 {
		return 0
	}
	return float64(r.AsyncRequests) / float64(r.Async)
}

// Ratio is the makespan over the bound.
func (r Result) Ratio() float64 {
	if r.Bounds.Max <= 0 {
		return 0
	}
	return float64(r.Makespan) / float64(r.Bounds.Max)
}

// counts are the recorder's request totals at one moment.
type counts struct{ api, models, limited, syncs int }

func (rc *recorder) snapshot() counts {
	api, models, limited, syncs := rc.counts()
	return counts{api, models, limited, syncs}
}

// tally fills the request counts of res from what the recorder saw since
// base was taken at t0.
func tally(res *Result, rec *recorder, base counts, t0 time.Time) {
	now := rec.snapshot()
	res.Requests = (now.api - base.api) - (now.models - base.models)
	res.Limited = now.limited - base.limited
	for _, g := range rec.generates() {
		if g.Async && !g.At.Before(t0) {
			res.Async++
		}
	}
	res.AsyncRequests = res.Requests - (now.syncs - base.syncs)
}

// taskTrace is what happened to one async task in a run.
type taskTrace struct {
	addr     string
	submit   time.Duration // since the run started
	latency  time.Duration
	polls    int
	wasted   int             // polls that answered processing
	seen     time.Duration   // first poll that answered completed, since the run started
	lateness time.Duration   // seen - (submit + latency)
	pollAt   []time.Duration // since submit
}

// diagnose summarises the traces: wasted polls, how late tasks were
// noticed, and the task that finished last.
func diagnose(traces []taskTrace) string {
	if len(traces) == 0 {
		return ""
	}
	var wasted, polls int
	var late, maxLate, maxSubmit time.Duration
	last := traces[0]
	for _, t := range traces {
		wasted += t.wasted
		polls += t.polls
		late += t.lateness
		maxLate = max(maxLate, t.lateness)
		maxSubmit = max(maxSubmit, t.submit)
		if t.seen > last.seen {
			last = t
		}
	}
	n := time.Duration(len(traces))
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
	var b strings.Builder
	fmt.Fprintf(&b, "polls=%d wasted=%d lateness mean=%s max=%s last-submit=%s; last seen: %s submit=%s L=%s seen=%s polls after submit %v",
		polls, wasted, r(late/n), r(maxLate), r(maxSubmit), last.addr, r(last.submit), r(last.latency), r(last.seen), last.pollAt)
	sort.Slice(traces, func(i, j int) bool { return traces[i].lateness > traces[j].lateness })
	b.WriteString("; latest noticed:")
	for _, t := range traces[:min(3, len(traces))] {
		fmt.Fprintf(&b, " %s(submit=%s L=%s seen=%s wasted=%d)", t.addr, r(t.submit), r(t.latency), r(t.seen), t.wasted)
	}
	return b.String()
}

// traceLines formats traces one task a line, in submit order; a poll
// that answered processing is marked with "-".
func traceLines(traces []taskTrace) []string {
	ts := append([]taskTrace(nil), traces...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].submit < ts[j].submit })
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
	var out []string
	for _, t := range ts {
		var b strings.Builder
		fmt.Fprintf(&b, "%s submit=%s L=%s seen=%s late=%s polls:", t.addr, r(t.submit), r(t.latency), r(t.seen), r(t.lateness))
		for i, at := range t.pollAt {
			mark := ""
			if i < t.polls-1 || t.wasted == t.polls {
				mark = "-"
			}
			fmt.Fprintf(&b, " %s%s", at, mark)
		}
		out = append(out, b.String())
	}
	return out
}

// trace builds the trace of each async task of a run started at t0.
func trace(rec *recorder, t0 time.Time, lat map[string]time.Duration, addrOf map[string]string) []taskTrace {
	var out []taskTrace
	for _, g := range rec.generates() {
		if !g.Async || g.At.Before(t0) {
			continue
		}
		t := taskTrace{addr: addrOf[g.TaskID], submit: g.At.Sub(t0), latency: lat[g.TaskID]}
		for _, p := range rec.pollsOf(g.TaskID) {
			t.polls++
			t.pollAt = append(t.pollAt, p.At.Sub(g.At).Round(100*time.Millisecond))
			if p.Status == "processing" {
				t.wasted++
				continue
			}
			if t.seen == 0 {
				t.seen = p.At.Sub(t0)
			}
		}
		t.lateness = t.seen - t.submit - t.latency
		out = append(out, t)
	}
	return out
}

// withTimeout bounds one run in virtual time: a run that hangs fails
// instead of stalling the suite.
func withTimeout(ctx context.Context, scale float64, virtual time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(float64(virtual)/scale)+10*time.Second)
}
