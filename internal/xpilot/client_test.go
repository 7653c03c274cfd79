package xpilot

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/xpflow/xpflow/internal/clock"
)

func intp(n int) *int { return &n }

func TestModels(t *testing.T) {
	seedance := Model{ID: "seedance-2.0/text-to-video", Label: "Seedance 2.0", Type: "video", Tier: "premium",
		SupportsAudio: true, SupportsLockCamera: true, Durations: []int{4, 8, 12}, CostCentsPer5s: intp(300),
		Mode: "text-to-video", Provider: "seedance"}
	seedanceJSON := `{"id":"seedance-2.0/text-to-video","label":"Seedance 2.0","tier":"premium","supports_audio":true,"supports_lock_camera":true,"durations":[4,8,12],"cost_cents_per_5s":300,"type":"video","mode":"text-to-video","provider":"seedance"}`
	tests := map[string]struct {
		body     string
		want     *Catalog
		wantCode string
	}{
		"documented example": {
			body: `{"models":{"text":[{"id":"openai/gpt-4o","label":"GPT-4o","type":"text"}],"video":[` + seedanceJSON + `],"image":[{"id":"bytedance/seedream-4.5","label":"Seedream 4.5","type":"image"}]}}`,
			want: &Catalog{
				Text:  []Model{{ID: "openai/gpt-4o", Label: "GPT-4o", Type: "text"}},
				Video: []Model{seedance},
				Image: []Model{{ID: "bytedance/seedream-4.5", Label: "Seedream 4.5", Type: "image"}},
			},
		},
		"unknown fields and groups are ignored": {
			body: `{"version":2,"models":{"audio":[{"id":"x"}],"text":[{"id":"t","type":"text","context_window":128000,"pricing":{"in":1}}]}}`,
			want: &Catalog{Text: []Model{{ID: "t", Type: "text"}}, Video: []Model{}, Image: []Model{}},
		},
		"missing type takes the group's, null price is unpriced": {
			body: `{"models":{"video":[{"id":"v","cost_cents_per_5s":null,"durations":[5]}]}}`,
			want: &Catalog{Text: []Model{}, Video: []Model{{ID: "v", Type: "video", Durations: []int{5}}}, Image: []Model{}},
		},
		"decimal price rounds up": {
			body: `{"models":{"video":[{"id":"v","type":"video","cost_cents_per_5s":2.5}]}}`,
			want: &Catalog{Text: []Model{}, Video: []Model{{ID: "v", Type: "video", CostCentsPer5s: intp(3)}}, Image: []Model{}},
		},
		"no models object":  {body: `{"data":[]}`, wantCode: CodeBadResponse},
		"model without id":  {body: `{"models":{"text":[{"label":"x"}]}}`, wantCode: CodeBadResponse},
		"negative price":    {body: `{"models":{"video":[{"id":"v","cost_cents_per_5s":-1}]}}`, wantCode: CodeBadResponse},
		"truncated catalog": {body: `{"models":{"text":[{"id":"openai/gp`, wantCode: CodeBadResponse},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			autoAdvance(t, f)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { jsonAnswer(w, 200, tc.body) })
			c, _ := newTestClient(t, f, rec.srv.URL, nil)
			got, err := c.Models(context.Background())
			if tc.wantCode != "" {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tc.wantCode {
					t.Fatalf("got error %v, want *APIError %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("catalog (-want +got):\n%s", diff)
			}
			if m, _ := got.Lookup("openai/gpt-4o"); m.Priced() {
				t.Errorf("an unlisted price reads as priced")
			}
		})
	}
}

func TestGenerateAnswers(t *testing.T) {
	tests := map[string]struct {
		call      func(*Client) (any, error)
		body      string
		want      any
		wantErrIn string // substring of the error; the error must be an unknown outcome
	}{
		"video processing": {
			call: func(c *Client) (any, error) {
				return c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			},
			body: videoOK,
			want: &Task{TaskID: "abc123", Status: "processing", Provider: "seedance", PollURL: "/api/v1/video/abc123?provider=seedance",
				Outputs: []string{}, CostCents: intp(300), RemainingCreditsCents: intp(4700)},
		},
		"image sync": {
			call: func(c *Client) (any, error) {
				return c.GenerateImage(context.Background(), ImageRequest{Model: "m", Prompt: "p"})
			},
			body: imageSync,
			want: &Task{TaskID: "img_456", Status: "completed", Outputs: []string{"https://cdn.example.com/image.png"},
				CostCents: intp(5), RemainingCreditsCents: intp(4695)},
		},
		"image async with numeric id and extra fields": {
			call: func(c *Client) (any, error) {
				return c.GenerateImage(context.Background(), ImageRequest{Model: "m", Prompt: "p"})
			},
			body: `{"task_id":789,"status":"processing","poll_url":"/api/v1/image/789?provider=x","eta":12,"cost_cents":8,"remaining_credits_cents":1}`,
			want: &Task{TaskID: "789", Status: "processing", PollURL: "/api/v1/image/789?provider=x", Outputs: []string{},
				CostCents: intp(8), RemainingCreditsCents: intp(1)},
		},
		"text": {
			call: func(c *Client) (any, error) { return c.GenerateText(context.Background(), TextRequest{Prompt: "p"}) },
			body: textOK,
			want: &TextResult{Content: "AI video generation just hit a new level...", Model: "openai/gpt-4o",
				Usage: Usage{PromptTokens: 15, CompletionTokens: 42, TotalTokens: 57}, CostCents: intp(1), RemainingCreditsCents: intp(4694)},
		},
		"video without task_id": {
			call: func(c *Client) (any, error) {
				return c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			},
			body:      `{"status":"processing","poll_url":"/x"}`,
			wantErrIn: `HTTP 200 OK BAD_RESPONSE: the answer (status "processing") has no task_id; body starts "{\"status\"`,
		},
		"video without status": {
			call: func(c *Client) (any, error) {
				return c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			},
			body:      `{"task_id":"a","poll_url":"/x"}`,
			wantErrIn: "has no status",
		},
		"video processing without poll_url": {
			call: func(c *Client) (any, error) {
				return c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			},
			body:      `{"task_id":"a","status":"processing"}`,
			wantErrIn: "no poll_url",
		},
		"image completed without outputs": {
			call: func(c *Client) (any, error) {
				return c.GenerateImage(context.Background(), ImageRequest{Model: "m", Prompt: "p"})
			},
			body:      `{"task_id":"a","status":"completed","outputs":[]}`,
			wantErrIn: "no outputs",
		},
		"text without content": {
			call:      func(c *Client) (any, error) { return c.GenerateText(context.Background(), TextRequest{Prompt: "p"}) },
			body:      `{"model":"openai/gpt-4o","cost_cents":1}`,
			wantErrIn: "has no content",
		},
		"truncated 2xx generate": {
			call: func(c *Client) (any, error) {
				return c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			},
			body:      videoOK[:len(videoOK)/2],
			wantErrIn: "unexpected end of JSON input",
		},
		"HTML 200 from a proxy on generate": {
			call: func(c *Client) (any, error) {
				return c.GenerateImage(context.Background(), ImageRequest{Model: "m", Prompt: "p"})
			},
			body:      "<html><body>Welcome to the hotel wifi</body></html>",
			wantErrIn: `body starts "<html><body>Welcome`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			autoAdvance(t, f)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { jsonAnswer(w, 200, tc.body) })
			c, _ := newTestClient(t, f, rec.srv.URL, nil)
			got, err := tc.call(c)
			if diff := cmp.Diff(1, len(rec.Hits())); diff != "" {
				t.Errorf("requests sent (-want +got):\n%s", diff)
			}
			if tc.wantErrIn != "" {
				var ae *APIError
				if !errors.Is(err, ErrUnknownOutcome) || !errors.As(err, &ae) || ae.Status != 200 {
					t.Fatalf("got %v, want an unknown outcome wrapping an *APIError with status 200", err)
				}
				if !strings.Contains(err.Error(), tc.wantErrIn) || !strings.Contains(err.Error(), "charged") {
					t.Errorf("got error %q, want it to contain %q and say it may be charged", err, tc.wantErrIn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	f := clock.NewFake(t0)
	rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) { jsonAnswer(w, 200, videoOK) })
	c, _ := newTestClient(t, f, rec.srv.URL, nil)
	dur, audio := 8, false
	if _, err := c.GenerateVideo(context.Background(), VideoRequest{Model: "seedance-2.0/text-to-video", Prompt: "cat", Duration: &dur, GenerateAudio: &audio}); err != nil {
		t.Fatal(err)
	}
	want := []hit{{Method: "POST", Path: PathVideoGenerate, Auth: "Bearer " + testKey,
		Body: `{"model":"seedance-2.0/text-to-video","prompt":"cat","duration":8,"generate_audio":false}`}}
	if diff := cmp.Diff(want, rec.Hits()); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if got := c.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}
}

func TestExcerptIsShortAndPrintable(t *testing.T) {
	tests := map[string]struct {
		body string
		want string
	}{
		"empty":         {body: "", want: "(empty body)"},
		"control chars": {body: "a\x00b\x1bc\nd", want: "a?b?c d"},
		"invalid utf8":  {body: "ok\xff\xfe", want: "ok??"},
		"long":          {body: strings.Repeat("x", 500), want: strings.Repeat("x", 120) + "..."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := excerpt([]byte(tc.body))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("excerpt (-want +got):\n%s", diff)
			}
			if strings.IndexFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
				t.Errorf("excerpt %q is not printable", got)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := map[string]struct {
		header string
		want   time.Duration
	}{
		"seconds":       {header: "7", want: 7 * time.Second},
		"http date":     {header: t0.Add(20 * time.Second).Format(http.TimeFormat), want: 20 * time.Second},
		"past date":     {header: t0.Add(-time.Minute).Format(http.TimeFormat), want: 0},
		"absent":        {header: "", want: 0},
		"garbage":       {header: "soon", want: 0},
		"negative":      {header: "-3", want: 0},
		"decimal secs":  {header: "1.5", want: 1500 * time.Millisecond},
		"spaces around": {header: " 3 ", want: 3 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseRetryAfter(tc.header, t0)); diff != "" {
				t.Errorf("Retry-After (-want +got):\n%s", diff)
			}
		})
	}
}
