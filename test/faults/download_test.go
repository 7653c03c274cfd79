package faults_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// stallingCDN proxies everything to the simulator; while stalling is on,
// image downloads get their headers and half their body, then nothing.
type stallingCDN struct {
	target   string
	proxy    *httputil.ReverseProxy
	stalling atomic.Bool
	once     sync.Once
	stalled  chan struct{} // closed when the first download has stalled
}

// newStallingCDN serves a stalling proxy in front of target.
func newStallingCDN(t *testing.T, target string) (*httptest.Server, *stallingCDN) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &stallingCDN{target: target, proxy: httputil.NewSingleHostReverseProxy(u), stalled: make(chan struct{})}
	c.stalling.Store(true)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { c.stalling.Store(false) })
	return srv, c
}

func (c *stallingCDN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The proxy keeps the incoming Host, so the simulator names output
	// URLs on this server and downloads come through here too.
	if !c.stalling.Load() || !strings.HasPrefix(r.URL.Path, "/cdn/") || !strings.HasSuffix(r.URL.Path, ".png") {
		c.proxy.ServeHTTP(w, r)
		return
	}
	resp, err := http.Get(c.target + r.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		http.Error(w, "upstream failed", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	w.(http.Flusher).Flush()
	c.once.Do(func() { close(c.stalled) })
	<-r.Context().Done()
}

// TestKillDuringDownload SIGKILLs apply while an output is half
// downloaded: no partial file may appear under the output's name, the
// state must keep the paid URL, and the next apply must fetch the file
// again at no cost and leave no temp file behind.
func TestKillDuringDownload(t *testing.T) {
	t.Parallel()
	g := guardSecrets(t)
	run := startSim(t)
	cdn, stall := newStallingCDN(t, run.URL)
	dir := newCampaignDir(t, 1)
	g.dir(dir)

	p := startXpflow(t, g, cdn.URL, "apply", "-auto-approve", dir)
	select {
	case <-stall.stalled:
	case <-p.done:
		t.Fatalf("apply ended before a download stalled\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no download stalled within 30 s\nstdout:\n%s", p.stdout)
	}
	// The headers and half the body are out; wait until the client has
	// opened its temp file, so the kill lands mid-write.
	deadline := time.Now().Add(10 * time.Second)
	for len(tempFiles(t, dir)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the file system, not timing logic
	}
	p.kill()

	final := filepath.Join(dir, "out", "image.hero", "p01.png")
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Errorf("after a kill mid-download, %s exists (err %v): a partial file under the output's name", final, err)
	}
	st := loadState(t, dir)
	img := st.Assets[`image.hero["p01"]`]
	if img == nil || img.Status != state.StatusCompleted || len(img.Outputs) != 1 || img.Outputs[0].URL == "" || img.Outputs[0].File != "" {
		t.Fatalf("image.hero[\"p01\"] after the kill: got %+v, want completed with its URL and no file yet", img)
	}
	if act := planActions(t, g, cdn.URL, dir)[`image.hero["p01"]`]; act != "download" {
		t.Errorf("plan after the kill: image.hero[\"p01\"] is %q, want download", act)
	}
	left := tempFiles(t, dir)
	if len(left) == 0 {
		// Without a temp file on disk at the kill, the sweep below would
		// pass without having anything to sweep.
		t.Fatalf("the kill landed before apply opened its download temp file under %s: nothing tests the sweep", dir)
	}

	stall.stalling.Store(false)
	p = startXpflow(t, g, cdn.URL, "apply", "-auto-approve", dir)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("apply after the kill exited %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	st = loadState(t, dir)
	checkAllDone(t, st, 1)
	if n := len(readLedger(run.Server.Log()).charged[`image.hero["p01"]`]); n != 1 {
		t.Errorf("image.hero[\"p01\"] was charged %d times, want 1: a re-download must not generate again", n)
	}
	if after := tempFiles(t, dir); len(after) > 0 {
		t.Errorf("the kill left %v and the next apply did not remove %v: apply must sweep .xpflow-download-* "+
			"under output_dir while holding the lock", left, after)
	}
}
