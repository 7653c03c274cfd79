package xpilot

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/clock"
)

// TestSuccessfulAnswersHoldingTheKeyAreRedacted: a model's text answer, or
// a task answer, that contains the key (a prompt asked the model to repeat
// its input, or a hostile API echoes it) must not hand the key to the
// state, the report or an output. The client replaces it with [REDACTED]
// and says it did.
func TestSuccessfulAnswersHoldingTheKeyAreRedacted(t *testing.T) {
	tests := map[string]struct {
		answer func(key string) string
		call   func(c *Client) (any, error)
		want   any
	}{
		"text content": {
			answer: func(key string) string {
				return `{"content": "Your key is ` + key + `, twice: ` + key + `", "model": "m", "usage": {}}`
			},
			call: func(c *Client) (any, error) {
				return c.GenerateText(context.Background(), TextRequest{Model: "m", Prompt: "p"})
			},
			want: &TextResult{Content: "Your key is [REDACTED], twice: [REDACTED]", Model: "m", Redacted: true},
		},
		"text content, JSON-escaped key": {
			answer: func(key string) string {
				b, _ := json.Marshal(key)
				return `{"content": "k=` + strings.ReplaceAll(strings.Trim(string(b), `"`), "T", `\u0054`) + `", "model": "m"}`
			},
			call: func(c *Client) (any, error) {
				return c.GenerateText(context.Background(), TextRequest{Model: "m", Prompt: "p"})
			},
			want: &TextResult{Content: "k=[REDACTED]", Model: "m", Redacted: true},
		},
		"clean text": {
			answer: func(string) string { return `{"content": "hello", "model": "m"}` },
			call: func(c *Client) (any, error) {
				return c.GenerateText(context.Background(), TextRequest{Model: "m", Prompt: "p"})
			},
			want: &TextResult{Content: "hello", Model: "m"},
		},
		"failed task error": {
			answer: func(key string) string {
				return `{"task_id": "t1", "status": "failed", "error": "bad key ` + key + `"}`
			},
			call: func(c *Client) (any, error) { return c.Poll(context.Background(), "/api/v1/video/t1") },
			want: &Task{TaskID: "t1", Status: "failed", Error: "bad key [REDACTED]", Outputs: []string{}, Redacted: true},
		},
		"output URL": {
			answer: func(key string) string {
				return `{"task_id": "t1", "status": "completed", "outputs": ["https://cdn/x.png?k=` + key + `"]}`
			},
			call: func(c *Client) (any, error) { return c.Poll(context.Background(), "/api/v1/video/t1") },
			want: &Task{TaskID: "t1", Status: "completed", Outputs: []string{"https://cdn/x.png?k=[REDACTED]"}, Redacted: true},
		},
		"generate answer poll_url": {
			answer: func(key string) string {
				return `{"task_id": "t1", "status": "processing", "poll_url": "/api/v1/video/t1?k=` + key + `"}`
			},
			call: func(c *Client) (any, error) {
				return c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
			},
			want: &Task{TaskID: "t1", Status: "processing", PollURL: "/api/v1/video/t1?k=[REDACTED]", Outputs: []string{}, Redacted: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			autoAdvance(t, f)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
				jsonAnswer(w, 200, tc.answer(echoKey(r)))
			})
			c, _ := newTestClient(t, f, rec.srv.URL, nil)
			got, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
