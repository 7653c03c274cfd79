package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// recorder wraps a simulator and notes, on the shared clock, every API
// request and what it answered. It serialises generate requests so that
// the order it records is the order the simulator created their tasks in,
// which is what lets a probe replay them (see probeLatencies).
type recorder struct {
	next  http.Handler
	clock clock.Clock

	genMu sync.Mutex // held across a generate request, to serialise them

	mu      sync.Mutex // guards every field below
	gens    []genRecord
	polls   map[string][]pollRecord // by task id, in answer order
	api     int                     // API requests, models included
	models  int
	limited int         // 429 answers
	sync    int         // generate requests answered without a task to poll
	times   []time.Time // when each API request but the catalog was answered
}

// genRecord is one successful generate request.
type genRecord struct {
	At     time.Time // when the answer was decided
	Path   string
	Body   []byte
	TaskID string // "" for text
	Async  bool   // answered processing: the task must be polled
}

// pollRecord is one poll answer.
type pollRecord struct {
	At     time.Time
	Status string // processing, completed or failed; "" for an error answer
}

func newRecorder(next http.Handler, c clock.Clock) *recorder {
	return &recorder{next: next, clock: c, polls: map[string][]pollRecord{}}
}

// capture keeps a copy of what a handler wrote.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(s int) {
	c.status = s
	c.ResponseWriter.WriteHeader(s)
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// ServeHTTP forwards the request and records it.
func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		rc.next.ServeHTTP(w, r)
		return
	}
	generate := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/generate")
	var body []byte
	if generate {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rc.genMu.Lock()
		defer rc.genMu.Unlock()
	}
	c := &capture{ResponseWriter: w}
	rc.next.ServeHTTP(c, r)
	rc.note(r, c, body, generate)
}

func (rc *recorder) note(r *http.Request, c *capture, body []byte, generate bool) {
	now := rc.clock.Now()
	var ans struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	if c.status == http.StatusOK {
		_ = json.Unmarshal(c.body.Bytes(), &ans)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.api++
	if r.URL.Path != "/api/v1/models" {
		rc.times = append(rc.times, now)
	}
	switch {
	case c.status == http.StatusTooManyRequests:
		rc.limited++
	case r.URL.Path == "/api/v1/models":
		rc.models++
	case generate && c.status == http.StatusOK:
		async := ans.Status == "processing"
		if !async {
			rc.sync++
		}
		rc.gens = append(rc.gens, genRecord{At: now, Path: r.URL.Path, Body: body, TaskID: ans.TaskID, Async: async})
	case !generate && ans.TaskID != "":
		rc.polls[ans.TaskID] = append(rc.polls[ans.TaskID], pollRecord{At: now, Status: ans.Status})
	}
}

// counts returns the request totals.
func (rc *recorder) counts() (api, models, limited, sync int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.api, rc.models, rc.limited, rc.sync
}

// generates returns a copy of the generate records in task-creation order.
func (rc *recorder) generates() []genRecord {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]genRecord(nil), rc.gens...)
}

// pollsOf returns the poll answers of one task.
func (rc *recorder) pollsOf(taskID string) []pollRecord {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]pollRecord(nil), rc.polls[taskID]...)
}

// before returns when the requests answered before t0 were, relative to
// t0 (so negative): what a run starting at t0 finds in the window.
func (rc *recorder) before(t0 time.Time) []time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []time.Duration
	for _, at := range rc.times {
		if at.Before(t0) {
			out = append(out, at.Sub(t0))
		}
	}
	return out
}
