package sim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/clock"
)

// startAt serves a simulator on the shared fake clock fc, as one xpflow
// process would; a test starts several to play successive processes.
func startAt(t *testing.T, fc *clock.Fake, opts ...Option) *harness {
	t.Helper()
	run, err := Start("", append([]Option{WithClock(fc)}, opts...)...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	return &harness{t: t, run: run, clock: fc, key: run.Key}
}

// TestSignedTaskAnsweredByAnotherProcess submits on one simulator, closes
// it, and polls and downloads on a second one with the same secret: the
// second answers for the tasks as the first would have, without charging.
func TestSignedTaskAnsweredByAnotherProcess(t *testing.T) {
	secret := WithTaskSecret([]byte("state-lineage-1"))
	lat := []Option{secret, WithLatency("video", 10*time.Second, 10*time.Second), WithLatency("image", 3*time.Second, 3*time.Second)}
	fc := clock.NewFake(t0)
	first := startAt(t, fc, lat...)
	bodies := map[string]struct {
		path string
		body map[string]any
	}{
		"seedance video":  {"/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "a", "duration": 4}},
		"wavespeed video": {"/api/v1/video/generate", map[string]any{"model": "wan-2.6/text-to-video", "prompt": "b", "aspect_ratio": "9:16"}},
		"async image":     {"/api/v1/image/generate", map[string]any{"model": "flux/pro-async", "prompt": "c"}},
	}
	subs := map[string]genResult{}
	for name, b := range bodies {
		r := first.post(b.path, b.body)
		if r.status != 200 {
			t.Fatalf("%s: submit answered %d %s", name, r.status, r.body)
		}
		subs[name] = decodeInto[genResult](t, r)
	}
	sync := decodeInto[genResult](t, first.post("/api/v1/image/generate", map[string]any{"model": "bytedance/seedream-4.5", "prompt": "d"}))
	if err := first.run.Close(); err != nil {
		t.Fatal(err)
	}
	fc.Advance(5 * time.Second)
	second := startAt(t, fc, lat...)
	charged := second.run.Server.Credits(second.key)

	got, want := map[string]string{}, map[string]string{"seedance video": "processing", "wavespeed video": "processing", "async image": "completed"}
	for name, s := range subs {
		got[name] = decodeInto[genResult](t, second.get(s.PollURL)).Status
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses 5 s after submit, on the second process (-want +got):\n%s", diff)
	}
	fc.Advance(6 * time.Second)
	for name, s := range subs {
		res := decodeInto[genResult](t, second.get(s.PollURL))
		if res.Status != "completed" || len(res.Outputs) != 1 || res.TaskID != s.TaskID {
			t.Fatalf("%s after its latency: %+v, want completed with one output", name, res)
		}
		if !strings.HasPrefix(res.Outputs[0], "http://"+cdnHost+"/cdn/") {
			t.Errorf("%s: output URL %q does not name the stable CDN host", name, res.Outputs[0])
		}
		// A third process downloads without polling first (xpflow's
		// "download" action), through the client that reaches the host.
		third := startAt(t, fc, lat...)
		resp, err := third.run.Client().Get(res.Outputs[0])
		if err != nil {
			t.Fatalf("%s: download: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Errorf("%s: download answered %d with %d bytes", name, resp.StatusCode, len(b))
		}
	}
	for _, u := range sync.Outputs {
		resp, err := second.run.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("sync image output from the first process: %d", resp.StatusCode)
		}
	}
	if after := second.run.Server.Credits(second.key); after != charged {
		t.Errorf("polls on the second process charged %d cents", charged-after)
	}
}

// TestSignedTaskRejected checks that the second process answers 404, as for
// any unknown task, unless the id is intact and was made for this key
// under this secret.
func TestSignedTaskRejected(t *testing.T) {
	fc := clock.NewFake(t0)
	first := startAt(t, fc, WithTaskSecret([]byte("s1")), WithKey("xp_a", 10000))
	sub := decodeInto[genResult](t, first.post("/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "a", "duration": 4}))
	id := sub.TaskID
	flip := func(s string) string {
		c := s[len(s)/2]
		r := byte('a')
		if c == 'a' {
			r = 'b'
		}
		return s[:len(s)/2] + string(r) + s[len(s)/2+1:]
	}
	tests := map[string]struct {
		opts []Option
		key  string
		id   string
		want int
	}{
		"same secret and key": {opts: []Option{WithTaskSecret([]byte("s1")), WithKey("xp_a", 1)}, key: "xp_a", id: id, want: 200},
		"another secret":      {opts: []Option{WithTaskSecret([]byte("s2")), WithKey("xp_a", 1)}, key: "xp_a", id: id, want: 404},
		"no secret":           {opts: []Option{WithKey("xp_a", 1)}, key: "xp_a", id: id, want: 404},
		"another key":         {opts: []Option{WithTaskSecret([]byte("s1")), WithKey("xp_b", 1)}, key: "xp_b", id: id, want: 404},
		"altered id":          {opts: []Option{WithTaskSecret([]byte("s1")), WithKey("xp_a", 1)}, key: "xp_a", id: flip(id), want: 404},
		"truncated id":        {opts: []Option{WithTaskSecret([]byte("s1")), WithKey("xp_a", 1)}, key: "xp_a", id: id[:12], want: 404},
		"not hex":             {opts: []Option{WithTaskSecret([]byte("s1")), WithKey("xp_a", 1)}, key: "xp_a", id: "sd_!!", want: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := startAt(t, fc, tc.opts...)
			r := h.send(http.MethodGet, "/api/v1/video/"+tc.id+"?provider=seedance", tc.key, nil)
			if r.status != tc.want {
				t.Errorf("poll: got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

// TestSignedTaskKeepsItsFate: a task drawn to fail fails with the same
// error on the process that did not draw it.
func TestSignedTaskKeepsItsFate(t *testing.T) {
	fc := clock.NewFake(t0)
	opts := []Option{WithTaskSecret([]byte("s")), WithLatency("video", time.Second, time.Second)}
	first := startAt(t, fc, append(opts, WithFaults(Faults{TaskFailureRate: 1}))...)
	sub := decodeInto[genResult](t, first.post("/api/v1/video/generate", map[string]any{"model": "seedance-2.0/text-to-video", "prompt": "a", "duration": 4}))
	fc.Advance(2 * time.Second)
	want := decodeInto[genResult](t, first.get(sub.PollURL))
	second := startAt(t, fc, opts...)
	got := decodeInto[genResult](t, second.get(sub.PollURL))
	if want.Status != "failed" || want.Error == "" {
		t.Fatalf("first process: %+v, want failed with an error", want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("second process answer (-first +second):\n%s", diff)
	}
}
