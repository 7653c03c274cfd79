package xpilot

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// testKey is recognisable so that a leak shows in any string.
const testKey = "xp_TESTKEY_do_not_leak_4f9a"

// hit is one request as the test server saw it.
type hit struct {
	Method, Path, RawQuery, Auth, Body string
	At                                 time.Duration // fake time since t0
}

// recorder is a test server that records every request and answers with
// handle(w, r, n), n being the 1-based number of the request.
type recorder struct {
	srv   *httptest.Server
	clock *clock.Fake

	mu   sync.Mutex // guards hits
	hits []hit
}

func newRecorder(t *testing.T, f *clock.Fake, handle func(w http.ResponseWriter, r *http.Request, n int)) *recorder {
	t.Helper()
	rec := &recorder{clock: f}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.hits = append(rec.hits, hit{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), Body: string(body), At: f.Now().Sub(t0)})
		n := len(rec.hits)
		rec.mu.Unlock()
		handle(w, r, n)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) Hits() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

// autoAdvance moves f to its next timer whenever one is pending, so that
// backoffs and limiter waits pass at once while their order is kept.
func autoAdvance(t *testing.T, f *clock.Fake) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for f.WaitForTimers(1, done) {
			if next, ok := f.Next(); ok {
				f.Set(next)
			}
		}
	}()
}

// logs collects Logf output.
type logs struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (l *logs) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// newTestClient returns a client of base on an auto-advancing fake clock.
func newTestClient(t *testing.T, f *clock.Fake, base string, mod func(*Config)) (*Client, *logs) {
	t.Helper()
	lg := &logs{}
	cfg := Config{BaseURL: base, APIKey: testKey, RequestsPerMinute: 30, Clock: f, Logf: lg.Logf, Seed: 1}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, lg
}

// jsonAnswer writes status and body with a JSON content type.
func jsonAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// apiErr writes the documented error shape.
func apiErr(w http.ResponseWriter, status int, code, msg string) {
	jsonAnswer(w, status, fmt.Sprintf(`{"error":{"message":%q,"code":%q}}`, msg, code))
}

// hijackClose reads nothing more and closes the connection unanswered.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

const (
	videoOK   = `{"task_id":"abc123","status":"processing","provider":"seedance","poll_url":"/api/v1/video/abc123?provider=seedance","cost_cents":300,"remaining_credits_cents":4700}`
	imageSync = `{"task_id":"img_456","status":"completed","outputs":["https://cdn.example.com/image.png"],"cost_cents":5,"remaining_credits_cents":4695}`
	textOK    = `{"content":"AI video generation just hit a new level...","model":"openai/gpt-4o","usage":{"prompt_tokens":15,"completion_tokens":42,"total_tokens":57},"cost_cents":1,"remaining_credits_cents":4694}`
)
