package xpilot

import (
	"net/http"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/clock"
)

// FuzzDecode feeds arbitrary bodies to every response decoder and to the
// error-body parser. None may panic; every accepted task must carry what
// the executor relies on, and no error may echo the key.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"task_id":"abc123","status":"processing","provider":"seedance","poll_url":"/api/v1/video/abc123?provider=seedance","cost_cents":300,"remaining_credits_cents":4700}`,
		`{"task_id":"img_456","status":"completed","outputs":["https://cdn.example.com/image.png"],"cost_cents":5,"remaining_credits_cents":4695}`,
		`{"task_id":"abc123","status":"failed","outputs":[],"error":{"message":"nsfw"}}`,
		`{"content":"AI video generation just hit a new level...","model":"openai/gpt-4o","usage":{"prompt_tokens":15,"completion_tokens":42,"total_tokens":57},"cost_cents":1,"remaining_credits_cents":4694}`,
		`{"models":{"text":[{"id":"openai/gpt-4o","label":"GPT-4o","type":"text"}],"video":[{"id":"v","durations":[4,8],"cost_cents_per_5s":300.5,"type":"video"}],"image":[]}}`,
		`{"error":{"message":"Invalid or missing API key","code":"UNAUTHORIZED"}}`,
		`<html><body>502 Bad Gateway</body></html>`,
		``, `{"task_id":`, `null`, `[]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	const key = "xp_fuzz_SECRET_key"
	c := &Client{scrub: scrubber{key: key}, clock: clock.Real()}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, generate := range []bool{true, false} {
			task, err := decodeTask(body, generate)
			if err != nil {
				continue
			}
			if task.Status == "" || (generate && task.TaskID == "") {
				t.Fatalf("accepted a task without status, or a generate answer without task_id: %+v", task)
			}
			if task.Status == StatusCompleted && len(task.Outputs) == 0 {
				t.Fatalf("accepted a completed task with no outputs: %+v", task)
			}
		}
		if r, err := decodeText(body); err == nil && r == nil {
			t.Fatal("decodeText returned nil without an error")
		}
		if cat, err := decodeCatalog(body); err == nil && cat == nil {
			t.Fatal("decodeCatalog returned nil without an error")
		}
		withKey := append([]byte(key+" "), body...)
		resp := &http.Response{StatusCode: 502, Header: http.Header{}}
		e := c.apiError(call{}, resp, withKey)
		if strings.Contains(e.Error(), key) {
			t.Fatalf("an API error echoed the key: %s", e.Error())
		}
	})
}
