package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// harness is a simulator on loopback with a fake clock.
type harness struct {
	t     *testing.T
	run   *Running
	clock *clock.Fake
	key   string
}

func start(t *testing.T, opts ...Option) *harness {
	t.Helper()
	fc := clock.NewFake(t0)
	run, err := Start("", append([]Option{WithClock(fc)}, opts...)...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &harness{t: t, run: run, clock: fc, key: run.Key}
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send makes a request with key (none when ""), body marshalled as JSON
// unless it is a string, which is sent as-is.
func (h *harness) send(method, path, key string, body any) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.run.URL+path, rd)
	if err != nil {
		h.t.Fatalf("NewRequest: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	return reply{resp.StatusCode, resp.Header, out}
}

func (h *harness) get(path string) reply { h.t.Helper(); return h.send("GET", path, h.key, nil) }

func (h *harness) post(path string, body any) reply {
	h.t.Helper()
	return h.send("POST", path, h.key, body)
}

// decodeInto unmarshals a reply body, failing the test if it is not JSON.
func decodeInto[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

// apiError is the documented error shape.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

// genResult is the union of generate and poll answers.
type genResult struct {
	TaskID    string   `json:"task_id"`
	Status    string   `json:"status"`
	Provider  string   `json:"provider"`
	PollURL   string   `json:"poll_url"`
	Outputs   []string `json:"outputs"`
	Error     string   `json:"error"`
	CostCents *int     `json:"cost_cents"`
	Remaining *int     `json:"remaining_credits_cents"`
}

func ptr[T any](v T) *T { return &v }

// sendRaw sends body with an explicit Content-Type.
func (h *harness) sendRaw(method, path, key, contentType, body string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.run.URL+path, bytes.NewBufferString(body))
	if err != nil {
		h.t.Fatalf("NewRequest: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	return reply{resp.StatusCode, resp.Header, out}
}

// cdnPath returns the path of an output URL on this simulator.
func cdnPath(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil || parsed.Path == "" {
		t.Fatalf("output URL %q: %v", u, err)
	}
	return parsed.Path
}

// decodeLenient unmarshals b into v and reports whether it worked.
func decodeLenient(b []byte, v any) bool { return json.Unmarshal(b, v) == nil }
