package report_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// chromiumPath is Debian's chromium, installed by scripts/install-chromium.sh.
const chromiumPath = "/usr/bin/chromium"

// screenshotArtifact is where the last screenshot is kept for a human to
// look at; testdata/report/.gitignore keeps it out of git.
const screenshotArtifact = "../../testdata/report/last-screenshot.png"

// needChromium skips the test when chromium is missing, unless CI is set:
// then a missing browser is a broken CI image, and the test fails.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (%v): run scripts/install-chromium.sh", chromiumPath, err)
		}
		t.Skipf("%s is missing: run scripts/install-chromium.sh to run the browser test", chromiumPath)
	}
}

// chromiumFlags are the flags every run uses, with a fresh profile.
func chromiumFlags(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
}

// limitedBuffer keeps the last 8 KiB written to it. mu guards b: exec
// copies the child's stderr from its own goroutine.
type limitedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-8<<10:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// waitMedia waits until the page's script has run and every image and
// video on the shown page has loaded or failed, then returns what the
// script recorded on <body> (imgOk, videoOk, mediaOk, matches, ...),
// without the timing, which varies.
const waitMedia = `new Promise(function (resolve) {
  var t0 = Date.now();
  (function poll() {
    var d = document.body.dataset;
    var settled = Array.from(document.querySelectorAll("img.media")).every(function (i) { return i.complete; }) &&
      Array.from(document.querySelectorAll("video.media")).every(function (v) { return v.readyState >= 1 || v.error; });
    if ((d.ready === "1" && settled) || Date.now() - t0 > 20000) {
      var out = Object.assign({}, d);
      delete out.firstRenderMs;
      delete out.cardsAtMs;
      resolve(out);
    } else {
      setTimeout(poll, 25);
    }
  })();
})`

// TestChromiumRendersCampaign applies examples/launch against a simulator
// on loopback, writes its report, and has headless chromium load it: the
// page's own script must find every image decoded and every video's
// metadata loaded, and the totals must match the state. Then files are
// removed: the page sees them broken, and a new report marks them missing.
func TestChromiumRendersCampaign(t *testing.T) {
	needChromium(t)
	dir := filepath.Join(t.TempDir(), "launch")
	copyFile(t, "../../examples/launch/launch.xp.hcl", filepath.Join(dir, "launch.xp.hcl"))
	srv, err := sim.Start("", sim.WithLatency("video", 50*time.Millisecond, 100*time.Millisecond),
		sim.WithLatency("image", 10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	env := map[string]string{"XPILOT_BASE_URL": srv.URL, "XPILOT_API_KEY": srv.Key}
	if code, _, stderr := runEnv(t, env, "apply", "-auto-approve", dir); code != 0 {
		t.Fatalf("apply: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	if code, _, stderr := runEnv(t, env, "report", dir); code != 0 {
		t.Fatalf("report: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	st, err := state.Load(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(st.Assets), 9; got != want {
		t.Fatalf("assets in the state: got %d, want %d (3 texts, 3 images, 3 videos)", got, want)
	}
	page := "file://" + filepath.ToSlash(filepath.Join(dir, "out", "report.html"))
	b := startBrowser(t, 1280, 2000)
	b.navigate(page)
	var got map[string]string
	b.eval(waitMedia, &got)
	keepScreenshot(t, b.screenshot())
	imgs, vids := mediaCounts(st)
	want := map[string]string{
		"imgOk":   fmt.Sprintf("%d/%d", imgs, imgs),
		"videoOk": fmt.Sprintf("%d/%d", vids, vids),
		"mediaOk": fmt.Sprintf("%d/%d", imgs+vids, imgs+vids),
		"matches": "9", "shown": "9", "page": "1", "pages": "1", "ready": "1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page state in chromium (-want +got):\n%s", diff)
	}
	var totals map[string]string
	b.eval(`Object.assign({}, document.getElementById("totals").dataset)`, &totals)
	if diff := cmp.Diff(wantTotals(st), totals); diff != "" {
		t.Errorf("totals in the DOM (-want +got):\n%s", diff)
	}

	// The page's check must see broken media too, or the test above could
	// never fail: remove one image and one video and look again.
	for _, f := range []string{"out/image.hero/aurora.png", "out/video.spot/aurora.mp4"} {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			t.Fatal(err)
		}
	}
	b.navigate(page)
	b.eval(waitMedia, &got)
	want["imgOk"] = fmt.Sprintf("%d/%d", imgs-1, imgs)
	want["videoOk"] = fmt.Sprintf("%d/%d", vids-1, vids)
	want["mediaOk"] = fmt.Sprintf("%d/%d", imgs+vids-2, imgs+vids)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("media check with two files removed (-want +got):\n%s", diff)
	}

	// A new report checks the files first: the two removed ones are
	// marked missing on their cards and no longer linked.
	if code, _, stderr := runEnv(t, env, "report", dir); code != 0 {
		t.Fatalf("report: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	b.navigate(page)
	b.eval(waitMedia, &got)
	want["imgOk"] = fmt.Sprintf("%d/%d", imgs-1, imgs-1)
	want["videoOk"] = fmt.Sprintf("%d/%d", vids-1, vids-1)
	want["mediaOk"] = fmt.Sprintf("%d/%d", imgs+vids-2, imgs+vids-2)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("media after a new report (-want +got):\n%s", diff)
	}
	var missing int
	b.eval(`document.querySelectorAll('[data-check="missing"]').length`, &missing)
	if missing != 2 {
		t.Errorf("cards marking a missing file: got %d, want 2", missing)
	}
	var found []string
	b.eval(search("file missing")+`Array.from(document.querySelectorAll("#cards article.card")).map(function (c) { return c.dataset.address; })`, &found)
	if diff := cmp.Diff([]string{`image.hero["aurora"]`, `video.spot["aurora"]`}, found); diff != "" {
		t.Errorf(`cards found by searching "file missing" (-want +got):\n%s`, diff)
	}

	// An earlier take shows beside the current one: give image.hero["vesper"]
	// the nimbus image as an earlier take and open its comparison.
	st, err = state.Load(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	five := 5
	st.Assets[`image.hero["vesper"]`].Takes = []state.Take{{RequestHash: "sha256:earlier", TaskID: "img_earlier",
		Request: map[string]any{"prompt": "An earlier prompt."}, CostCents: &five, Outputs: st.Assets[`image.hero["nimbus"]`].Outputs}}
	enc, err := state.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := state.WriteFileAtomic(filepath.Join(dir, "xpflow.state.json"), enc, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runEnv(t, env, "report", dir); code != 0 {
		t.Fatalf("report: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	// A new document, as the page was rewritten; images far from the
	// card the link scrolls to load lazily, so wait for the script only.
	b.navigate(page + "?takes#asset-image-hero-vesper")
	b.eval(waitReady, nil)
	var cmpView struct {
		Labels  []string `json:"labels"`
		Prompts []string `json:"prompts"`
		Decoded int      `json:"decoded"`
	}
	b.eval(`(function () {
	  var card = document.getElementById("asset-image-hero-vesper"), det = card.querySelector("details.takes");
	  det.open = true;
	  var imgs = Array.from(det.querySelectorAll("img.media"));
	  return Promise.all(imgs.map(function (i) { return i.decode().then(function () { return 1; }, function () { return 0; }); }))
	    .then(function (ok) {
	      return {decoded: ok.reduce(function (a, b) { return a + b; }, 0),
	        labels: Array.from(det.querySelectorAll(".compare .label")).map(function (l) { return l.textContent; }),
	        prompts: Array.from(det.querySelectorAll(".compare .prompt")).map(function (p) { return p.textContent; })};
	    });
	})()`, &cmpView)
	wantCmp := struct {
		Labels  []string `json:"labels"`
		Prompts []string `json:"prompts"`
		Decoded int      `json:"decoded"`
	}{Labels: []string{"take 1 · $0.05", "current"}, Prompts: []string{"An earlier prompt.", st.Assets[`image.hero["vesper"]`].Request["prompt"].(string)}, Decoded: 2}
	if diff := cmp.Diff(wantCmp, cmpView); diff != "" {
		t.Errorf("previous take beside the current one (-want +got):\n%s", diff)
	}

	// Filters in the URL are applied on load.
	b.navigate(page + "?kind=video&q=nimbus")
	b.eval(waitMedia, &got)
	var shown []string
	b.eval(`Array.from(document.querySelectorAll("#cards article.card")).map(function (c) { return c.dataset.address; })`, &shown)
	if diff := cmp.Diff([]string{`video.spot["nimbus"]`}, shown); diff != "" {
		t.Errorf("cards shown for ?kind=video&q=nimbus (-want +got):\n%s", diff)
	}
}

// keepScreenshot keeps the screenshot at screenshotArtifact and checks
// that it is a PNG.
func keepScreenshot(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Fatalf("screenshot: got %d bytes that are not a PNG, want a PNG", len(b))
	}
	if err := os.WriteFile(screenshotArtifact, b, 0o644); err != nil {
		t.Errorf("keep the screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", screenshotArtifact)
}

// mediaCounts counts the downloaded image and video files the page should
// show.
func mediaCounts(st *state.State) (imgs, vids int) {
	for _, a := range st.Assets {
		for _, o := range a.Outputs {
			switch {
			case o.File == "":
			case filepath.Ext(o.File) == ".png":
				imgs++
			case filepath.Ext(o.File) == ".mp4":
				vids++
			}
		}
	}
	return imgs, vids
}

// wantTotals computes the totals the page should carry (as the page's
// script reads them: camelCase), from the state of a campaign whose every
// asset completed and whose files are intact.
func wantTotals(st *state.State) map[string]string {
	cost, files := 0, 0
	for _, a := range st.Assets {
		if a.CostCents != nil {
			cost += *a.CostCents
		}
		files += len(a.Outputs)
	}
	n := strconv.Itoa(len(st.Assets))
	out := map[string]string{"assets": n, "completed": n, "actualCents": strconv.Itoa(cost),
		"estimatedCents": strconv.Itoa(cost), "unpriced": "0", "toSpendCents": "0", "toSpendUnpriced": "0",
		"filesOk": strconv.Itoa(files)}
	if st.Balance != nil {
		out["balanceCents"] = strconv.Itoa(st.Balance.Cents)
	}
	return out
}
