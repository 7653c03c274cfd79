package xpilot

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/clock"
)

func TestBaseURLPathIsKept(t *testing.T) {
	tests := map[string]struct {
		base, poll        string
		wantAPI, wantPoll string
	}{
		"no path": {base: "https://h", poll: "/api/v1/video/t1?provider=seedance",
			wantAPI: "https://h/api/v1/models", wantPoll: "https://h/api/v1/video/t1?provider=seedance"},
		"prefix": {base: "https://h/prefix", poll: "/api/v1/video/t1?provider=seedance",
			wantAPI: "https://h/prefix/api/v1/models", wantPoll: "https://h/prefix/api/v1/video/t1?provider=seedance"},
		"prefix with slash": {base: "https://h/a/b/", poll: "/api/v1/video/t1",
			wantAPI: "https://h/a/b/api/v1/models", wantPoll: "https://h/a/b/api/v1/video/t1"},
		"poll already under the prefix": {base: "https://h/prefix", poll: "/prefix/api/v1/video/t1",
			wantAPI: "https://h/prefix/api/v1/models", wantPoll: "https://h/prefix/api/v1/video/t1"},
		"full poll URL on the API host": {base: "https://h/prefix", poll: "https://h/elsewhere/t1?x=1",
			wantAPI: "https://h/prefix/api/v1/models", wantPoll: "https://h/elsewhere/t1?x=1"},
		// A base path that is also the start of the API's own paths
		// is a prefix like any other: /api/v1/models goes under it.
		"prefix /api": {base: "https://h/api", poll: "/api/v1/video/t1",
			wantAPI: "https://h/api/api/v1/models", wantPoll: "https://h/api/api/v1/video/t1"},
		"prefix /api/v1": {base: "https://h/api/v1", poll: "/api/v1/video/t1",
			wantAPI: "https://h/api/v1/api/v1/models", wantPoll: "https://h/api/v1/api/v1/video/t1"},
		"poll already under the prefix /api": {base: "https://h/api", poll: "/api/api/v1/video/t1",
			wantAPI: "https://h/api/api/v1/models", wantPoll: "https://h/api/api/v1/video/t1"},
		"base with a query": {base: "https://h/p?ignored=1", poll: "/api/v1/video/t1",
			wantAPI: "https://h/p/api/v1/models", wantPoll: "https://h/p/api/v1/video/t1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newTestClient(t, clock.NewFake(t0), tc.base, nil)
			if diff := cmp.Diff(tc.wantAPI, c.resolve(PathModels).String()); diff != "" {
				t.Errorf("resolve(%s) (-want +got):\n%s", PathModels, diff)
			}
			u, err := c.resolvePoll(tc.poll)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantPoll, u.String()); diff != "" {
				t.Errorf("resolvePoll(%s) (-want +got):\n%s", tc.poll, diff)
			}
		})
	}
}

// TestPrefixedBaseURLOverTheWire is the report:
// XPILOT_BASE_URL=http://host/prefix must send requests under /prefix.
func TestPrefixedBaseURLOverTheWire(t *testing.T) {
	f := clock.NewFake(t0)
	autoAdvance(t, f)
	rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
		jsonAnswer(w, 200, `{"task_id": "t1", "status": "processing", "provider": "seedance"}`)
	})
	c, _ := newTestClient(t, f, rec.srv.URL+"/prefix", nil)
	if _, err := c.Poll(context.Background(), "/api/v1/video/t1?provider=seedance"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.GenerateVideo(context.Background(), VideoRequest{Model: "m", Prompt: "p"})
	var got []string
	for _, h := range rec.Hits() {
		got = append(got, h.Method+" "+h.Path+"?"+h.RawQuery)
	}
	want := []string{"GET /prefix/api/v1/video/t1?provider=seedance", "POST /prefix/api/v1/video/generate?"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests the server saw (-want +got):\n%s", diff)
	}
}
