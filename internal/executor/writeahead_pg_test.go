package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// TestPostgresIntentIsCommittedBeforeThePOST: the write-ahead rule on the
// Postgres backend, seen from the wire. A proxy in front of the simulator
// looks up, when each generate request arrives, the asset's row in the
// database through a connection of its own: it must already hold the
// committed intent. Without that, a runner killed after sending would
// leave a charge no state knows of.
func TestPostgresIntentIsCommittedBeforeThePOST(t *testing.T) {
	conn := pgtest.Database(t)
	ctx := context.Background()
	h := newHarness(t, setup{})
	h.write(t, `
text "hook" {
  prompt = "the hook"
}
image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "the hero"
}
`)
	_, store := openCampaign(t, conn, "runner-a")
	watcher := openRunner(t, conn, "watcher")

	byPrompt := map[string]string{"the hook": "text.hook", "the hero": "image.hero"}
	var mu sync.Mutex
	seen := map[string]string{} // address -> the row's status when its POST arrived
	target, err := url.Parse(h.sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/generate") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				Prompt string `json:"prompt"`
			}
			_ = json.Unmarshal(body, &req)
			addr := byPrompt[req.Prompt]
			status := "no row"
			var s string
			if err := watcher.Pool().QueryRow(r.Context(),
				"SELECT status FROM xpflow_assets WHERE campaign = 'c' AND address = $1", addr).Scan(&s); err == nil {
				status = s
			}
			mu.Lock()
			seen[addr] = status
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	h.client, err = xpilot.New(xpilot.Config{BaseURL: front.URL, APIKey: h.sim.Key, RequestsPerMinute: 30, Clock: h.clock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}

	p := h.planWith(t, store.Snapshot(), run{})
	sum, err := executor.Run(ctx, p, executor.Options{Client: h.client, Store: store, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Fatalf("apply: %v", sum.Counts())
	}
	want := map[string]string{"text.hook": string(state.StatusIntent), "image.hero": string(state.StatusIntent)}
	mu.Lock()
	defer mu.Unlock()
	for addr, w := range want {
		if seen[addr] != w {
			t.Errorf("when the generate request of %s reached the API, its row said %q, want %q committed before the POST", addr, seen[addr], w)
		}
	}
}
