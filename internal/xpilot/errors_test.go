package xpilot

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xpflow/xpflow/internal/clock"
)

// endpoints are the calls every error case runs through.
var endpoints = map[string]func(*Client) error{
	"models": func(c *Client) error { _, err := c.Models(context.Background()); return err },
	"poll": func(c *Client) error {
		_, err := c.Poll(context.Background(), "/api/v1/video/abc?provider=seedance")
		return err
	},
	"video": func(c *Client) error {
		_, err := c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
		return err
	},
	"image": func(c *Client) error {
		_, err := c.GenerateImage(context.Background(), ImageRequest{Model: "m", Prompt: "p"})
		return err
	},
	"text": func(c *Client) error {
		_, err := c.GenerateText(context.Background(), TextRequest{Prompt: "p"})
		return err
	},
}

func isGET(endpoint string) bool { return endpoint == "models" || endpoint == "poll" }

func TestErrorAnswersAndRetryCounts(t *testing.T) {
	type want struct {
		err          APIError // Endpoint is not compared
		unknown      bool     // wrapped in an UnknownOutcomeError
		getRequests  int
		postRequests int
	}
	tests := map[string]struct {
		answer func(w http.ResponseWriter)
		want   want
	}{
		"400 INVALID_PARAMS": {
			answer: func(w http.ResponseWriter) { apiErr(w, 400, "INVALID_PARAMS", "prompt is required") },
			want:   want{err: APIError{Status: 400, Code: CodeInvalidParams, Message: "prompt is required"}, getRequests: 1, postRequests: 1},
		},
		"400 INVALID_MODEL": {
			answer: func(w http.ResponseWriter) { apiErr(w, 400, "INVALID_MODEL", "model x does not exist") },
			want:   want{err: APIError{Status: 400, Code: CodeInvalidModel, Message: "model x does not exist"}, getRequests: 1, postRequests: 1},
		},
		"401 UNAUTHORIZED": {
			answer: func(w http.ResponseWriter) { apiErr(w, 401, "UNAUTHORIZED", "Invalid or missing API key") },
			want:   want{err: APIError{Status: 401, Code: CodeUnauthorized, Message: "Invalid or missing API key"}, getRequests: 1, postRequests: 1},
		},
		"402 INSUFFICIENT_CREDITS": {
			answer: func(w http.ResponseWriter) { apiErr(w, 402, "INSUFFICIENT_CREDITS", "balance too low") },
			want:   want{err: APIError{Status: 402, Code: CodeInsufficientCredits, Message: "balance too low"}, getRequests: 1, postRequests: 1},
		},
		"429 RATE_LIMITED every time": {
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "3")
				apiErr(w, 429, "RATE_LIMITED", "slow down")
			},
			want: want{err: APIError{Status: 429, Code: CodeRateLimited, Message: "slow down", RetryAfter: 3 * time.Second}, getRequests: 6, postRequests: 6},
		},
		"500 GENERATION_FAILED every time": {
			answer: func(w http.ResponseWriter) { apiErr(w, 500, "GENERATION_FAILED", "upstream failed") },
			want:   want{err: APIError{Status: 500, Code: CodeGenerationFailed, Message: "upstream failed"}, getRequests: 6, postRequests: 4},
		},
		"503 HTML page from a proxy": {
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(503)
				w.Write([]byte("<html>\n<h1>503 Service Unavailable</h1></html>"))
			},
			want: want{err: APIError{Status: 503, Code: CodeBadResponse, Message: "the body is not the documented error JSON (Content-Type text/html)",
				Excerpt: "<html> <h1>503 Service Unavailable</h1></html>"}, getRequests: 6, postRequests: 1},
		},
		"502 from a gateway": {
			answer: func(w http.ResponseWriter) { w.WriteHeader(502) },
			want: want{err: APIError{Status: 502, Code: CodeBadResponse, Message: "the body is not the documented error JSON",
				Excerpt: "(empty body)"}, unknown: true, getRequests: 6, postRequests: 1},
		},
		"400 with empty body": {
			answer: func(w http.ResponseWriter) { w.WriteHeader(400) },
			want: want{err: APIError{Status: 400, Code: CodeBadResponse, Message: "the body is not the documented error JSON",
				Excerpt: "(empty body)"}, getRequests: 1, postRequests: 1},
		},
		"402 with truncated JSON": {
			answer: func(w http.ResponseWriter) { jsonAnswer(w, 402, `{"error":{"message":"bala`) },
			want: want{err: APIError{Status: 402, Code: CodeBadResponse, Message: "the body is not the documented error JSON",
				Excerpt: `{"error":{"message":"bala`}, getRequests: 1, postRequests: 1},
		},
		"500 with an undocumented code": {
			// It may follow a charge: only GENERATION_FAILED is documented as
			// not charged, so a generate must not be resent.
			answer: func(w http.ResponseWriter) { apiErr(w, 500, "INTERNAL", "internal error") },
			want: want{err: APIError{Status: 500, Code: "INTERNAL", Message: "internal error"},
				unknown: true, getRequests: 6, postRequests: 1},
		},
		"404 with an unknown code": {
			answer: func(w http.ResponseWriter) { apiErr(w, 404, "NOT_FOUND", "no such task") },
			want:   want{err: APIError{Status: 404, Code: "NOT_FOUND", Message: "no such task"}, getRequests: 1, postRequests: 1},
		},
	}
	for name, tc := range tests {
		for ep, run := range endpoints {
			t.Run(name+"/"+ep, func(t *testing.T) {
				f := clock.NewFake(t0)
				autoAdvance(t, f)
				rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { tc.answer(w) })
				c, _ := newTestClient(t, f, rec.srv.URL, nil)
				err := run(c)
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("got %T %v, want an *APIError", err, err)
				}
				got := *ae
				if got.Endpoint == "" || !strings.HasPrefix(err.Error(), "xpilot: ") {
					t.Errorf("error %q lacks its endpoint", err)
				}
				got.Endpoint = ""
				if diff := cmp.Diff(tc.want.err, got); diff != "" {
					t.Errorf("APIError (-want +got):\n%s", diff)
				}
				wantUnknown := tc.want.unknown && !isGET(ep)
				if got := errors.Is(err, ErrUnknownOutcome); got != wantUnknown {
					t.Errorf("unknown outcome = %v, want %v", got, wantUnknown)
				}
				want := tc.want.postRequests
				if isGET(ep) {
					want = tc.want.getRequests
				}
				if diff := cmp.Diff(want, len(rec.Hits())); diff != "" {
					t.Errorf("requests the server saw (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(int64(want), c.Requests()); diff != "" {
					t.Errorf("Requests() (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRetryAfterPausesTheLimiter(t *testing.T) {
	tests := map[string]struct {
		retryAfter func(now time.Time) string
		wantSecond time.Duration // fake time of the retry
	}{
		"seconds":   {retryAfter: func(time.Time) string { return "7" }, wantSecond: 7 * time.Second},
		"http date": {retryAfter: func(now time.Time) string { return now.Add(20 * time.Second).Format(http.TimeFormat) }, wantSecond: 20 * time.Second},
		"absent":    {retryAfter: func(time.Time) string { return "" }, wantSecond: time.Second},
	}
	for name, tc := range tests {
		for ep, run := range endpoints {
			t.Run(name+"/"+ep, func(t *testing.T) {
				f := clock.NewFake(t0)
				autoAdvance(t, f)
				rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
					if n == 1 {
						if v := tc.retryAfter(f.Now()); v != "" {
							w.Header().Set("Retry-After", v)
						}
						apiErr(w, 429, "RATE_LIMITED", "over 30 requests/minute")
						return
					}
					switch {
					case r.URL.Path == PathModels:
						jsonAnswer(w, 200, `{"models":{}}`)
					case r.URL.Path == PathTextGenerate:
						jsonAnswer(w, 200, textOK)
					case r.Method == http.MethodGet:
						jsonAnswer(w, 200, `{"task_id":"abc","status":"processing","outputs":[]}`)
					default:
						jsonAnswer(w, 200, videoOK)
					}
				})
				c, _ := newTestClient(t, f, rec.srv.URL, nil)
				if err := run(c); err != nil {
					t.Fatal(err)
				}
				var got []time.Duration
				for _, h := range rec.Hits() {
					got = append(got, h.At)
				}
				if diff := cmp.Diff([]time.Duration{0, tc.wantSecond}, got); diff != "" {
					t.Errorf("request times (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestPollURLResolution(t *testing.T) {
	wavespeed := "/api/v1/video/ws1?provider=wavespeed&pollUrl=https%3A%2F%2Fapi.wavespeed.ai%2Fapi%2Fv3%2Fpredictions%2Fws1%2Fresult%3Fa%3D1%26b%3D2"
	tests := map[string]struct {
		pollURL   func(base string) string
		wantPath  string
		wantQuery string
		wantErr   string
	}{
		"seedance relative": {pollURL: func(string) string { return "/api/v1/video/abc123?provider=seedance" },
			wantPath: "/api/v1/video/abc123", wantQuery: "provider=seedance"},
		"wavespeed query kept byte for byte": {pollURL: func(string) string { return wavespeed },
			wantPath: "/api/v1/video/ws1", wantQuery: wavespeed[strings.Index(wavespeed, "?")+1:]},
		"absolute on the API host": {pollURL: func(base string) string { return base + "/api/v1/image/i9?provider=flux" },
			wantPath: "/api/v1/image/i9", wantQuery: "provider=flux"},
		"absolute on another host": {pollURL: func(string) string { return "https://evil.example/api/v1/video/abc?provider=seedance" },
			wantErr: "refusing poll_url on https://evil.example"},
		"scheme-relative other host": {pollURL: func(string) string { return "//evil.example/api/v1/video/abc" },
			wantErr: "refusing poll_url on http://evil.example"},
		"other scheme on the API host": {pollURL: func(base string) string { return strings.Replace(base, "http:", "https:", 1) + "/x" },
			wantErr: "refusing poll_url on https://127.0.0.1"},
		"empty": {pollURL: func(string) string { return "" }, wantErr: "empty poll_url"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
				jsonAnswer(w, 200, `{"task_id":"abc123","status":"completed","outputs":["https://cdn.example.com/v.mp4"],"provider":"seedance"}`)
			})
			c, _ := newTestClient(t, f, rec.srv.URL, nil)
			task, err := c.Poll(context.Background(), tc.pollURL(rec.srv.URL))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				if n := len(rec.Hits()); n != 0 {
					t.Errorf("sent %d requests, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hits := rec.Hits()
			if len(hits) != 1 {
				t.Fatalf("got %d requests, want 1", len(hits))
			}
			got := []string{hits[0].Method, hits[0].Path, hits[0].RawQuery, task.Status}
			if diff := cmp.Diff([]string{"GET", tc.wantPath, tc.wantQuery, StatusCompleted}, got); diff != "" {
				t.Errorf("poll request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollFailedTaskError(t *testing.T) {
	tests := map[string]struct {
		body string
		want string
	}{
		"string error": {body: `{"task_id":"a","status":"failed","error":"content policy"}`, want: "content policy"},
		"object error": {body: `{"task_id":"a","status":"failed","error":{"message":"nsfw","code":"MODERATION"}}`, want: "MODERATION: nsfw"},
		"no error":     {body: `{"task_id":"a","status":"failed"}`, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { jsonAnswer(w, 200, tc.body) })
			c, _ := newTestClient(t, f, rec.srv.URL, nil)
			task, err := c.Poll(context.Background(), "/api/v1/video/a?provider=seedance")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{StatusFailed, tc.want}, []string{task.Status, task.Error}); diff != "" {
				t.Errorf("status and error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectionFailures(t *testing.T) {
	tests := map[string]struct {
		endpoint     string
		wantUnknown  bool
		wantRequests int
	}{
		"generate is not resent after the request was read": {endpoint: "video", wantUnknown: true, wantRequests: 1},
		"text is not resent either":                         {endpoint: "text", wantUnknown: true, wantRequests: 1},
		"poll is retried":                                   {endpoint: "poll", wantRequests: 6},
		"models is retried":                                 {endpoint: "models", wantRequests: 6},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			autoAdvance(t, f)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { hijackClose(w) })
			c, _ := newTestClient(t, f, rec.srv.URL, nil)
			err := endpoints[tc.endpoint](c)
			if err == nil {
				t.Fatal("got no error")
			}
			if got := errors.Is(err, ErrUnknownOutcome); got != tc.wantUnknown {
				t.Errorf("unknown outcome = %v (%v), want %v", got, err, tc.wantUnknown)
			}
			var uo *UnknownOutcomeError
			if tc.wantUnknown && (!errors.As(err, &uo) || !strings.Contains(err.Error(), "do not resend it blindly")) {
				t.Errorf("error %q does not warn against resending", err)
			}
			if diff := cmp.Diff(tc.wantRequests, len(rec.Hits())); diff != "" {
				t.Errorf("requests the server saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCancelAfterWriteIsUnknownOutcome(t *testing.T) {
	f := clock.NewFake(t0)
	got := make(chan struct{})
	rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
		close(got)
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, f, rec.srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	_, err := c.GenerateVideo(ctx, VideoRequest{Model: "m", Prompt: "p"})
	if !errors.Is(err, ErrUnknownOutcome) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an unknown outcome caused by the cancellation", err)
	}
	if n := len(rec.Hits()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestDialFailureBeforeSendIsRetried(t *testing.T) {
	tests := map[string]struct {
		failDials    int
		wantErr      bool
		wantRequests int
	}{
		"two refused dials then success": {failDials: 2, wantRequests: 1},
		"refused until attempts run out": {failDials: 100, wantErr: true, wantRequests: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			autoAdvance(t, f)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { jsonAnswer(w, 200, videoOK) })
			var dials atomic.Int64
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials.Add(1) <= int64(tc.failDials) {
					return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
				}
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
			t.Cleanup(tr.CloseIdleConnections)
			c, _ := newTestClient(t, f, rec.srv.URL, func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: tr} })
			_, err := c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			if (err != nil) != tc.wantErr || errors.Is(err, ErrUnknownOutcome) {
				t.Fatalf("got error %v, want error %v and never an unknown outcome", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantRequests, len(rec.Hits())); diff != "" {
				t.Errorf("requests the server saw (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(int64(tc.wantRequests), c.Requests()); diff != "" {
				t.Errorf("Requests() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallPriority(t *testing.T) {
	f := clock.NewFake(t0)
	c, _ := newTestClient(t, f, "http://127.0.0.1:1", nil)
	u := c.resolve(PathModels)
	tests := map[string]struct {
		opts []Call
		want Priority
	}{
		"no options":             {want: PriorityModels},
		"the zero Call":          {opts: []Call{{}}, want: PriorityModels},
		"a priority in the Call": {opts: []Call{{Priority: PriorityLeafPoll}}, want: PriorityLeafPoll},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, c.newCall(http.MethodGet, u, nil, PriorityModels, tc.opts).prio); diff != "" {
				t.Errorf("priority (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAbortStopsARetryAfterA429(t *testing.T) {
	f := clock.NewFake(t0)
	autoAdvance(t, f)
	abort := make(chan struct{})
	rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
		close(abort) // the user interrupts while the 429 is on its way back
		w.Header().Set("Retry-After", "5")
		apiErr(w, 429, CodeRateLimited, "slow down")
	})
	c, _ := newTestClient(t, f, rec.srv.URL, nil)
	_, err := c.GenerateImage(context.Background(), ImageRequest{Model: "m", Prompt: "p"}, Call{Abort: abort})
	var notSent *NotSentError
	if !errors.As(err, &notSent) || errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("err = %v, want a NotSentError (refused, so not charged)", err)
	}
	var apiE *APIError
	if !errors.As(err, &apiE) || apiE.Status != 429 {
		t.Errorf("err = %v, want it to carry the 429 that was the last answer", err)
	}
	if got := len(rec.Hits()); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestAbortWhileWaitingForTheRateLimit(t *testing.T) {
	f := clock.NewFake(t0)
	rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"task_id":"t","status":"processing","poll_url":"/api/v1/video/t","cost_cents":1,"remaining_credits_cents":9}`)
	})
	c, _ := newTestClient(t, f, rec.srv.URL, func(cfg *Config) { cfg.RequestsPerMinute = 1 })
	if _, err := c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"}); err != nil {
		t.Fatal(err)
	}
	abort := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"}, Call{Abort: abort})
		errc <- err
	}()
	// The second call waits for the window: its limiter timer is armed.
	if !f.WaitForTimers(1, nil) {
		t.Fatal("the second call never waited for the window")
	}
	close(abort)
	err := <-errc
	var notSent *NotSentError
	if !errors.As(err, &notSent) {
		t.Fatalf("err = %v, want a NotSentError", err)
	}
	if got := len(rec.Hits()); got != 1 {
		t.Errorf("server saw %d requests, want only the first", got)
	}
	if got := c.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}
}
