package report_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// chromium runs headless chromium with a fresh profile and returns stdout.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return out
}

// limitedBuffer keeps the last 8 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-8<<10:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// TestChromiumRendersCampaign applies examples/launch against the built-in
// simulator, writes its report, and has headless chromium screenshot it and
// dump its DOM after the page's own script has checked that every image
// decoded and every video loaded its metadata.
func TestChromiumRendersCampaign(t *testing.T) {
	needChromium(t)
	dir := filepath.Join(t.TempDir(), "launch")
	copyFile(t, "../../examples/launch/launch.xp.hcl", filepath.Join(dir, "launch.xp.hcl"))
	if code, _, stderr := run(t, "apply", "-simulate", "-auto-approve", dir); code != 0 {
		t.Fatalf("apply: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	if code, _, stderr := run(t, "report", "-simulate", dir); code != 0 {
		t.Fatalf("report: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	st, err := state.Load(filepath.Join(dir, "xpflow.simulate.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.ToSlash(filepath.Join(dir, "out", "report.html"))

	shot := filepath.Join(t.TempDir(), "report.png")
	chromium(t, "--screenshot="+shot, "--window-size=1280,2000", "--virtual-time-budget=10000", page)
	keepScreenshot(t, shot)

	dom := string(chromium(t, "--dump-dom", "--virtual-time-budget=10000", page))
	imgs, vids := mediaCounts(st)
	wantBody := map[string]string{
		"img-ok":   fmt.Sprintf("%d/%d", imgs, imgs),
		"video-ok": fmt.Sprintf("%d/%d", vids, vids),
		"media-ok": fmt.Sprintf("%d/%d", imgs+vids, imgs+vids),
		"matches":  "9", "shown": "9", "page": "1", "pages": "1",
	}
	if diff := cmp.Diff(wantBody, bodyState(dom)); diff != "" {
		t.Errorf("page state in chromium (-want +got):\n%s", diff)
	}
	gotTotals := attrs(regexp.MustCompile(`<section id="totals"[^>]*>`).FindString(dom))
	if diff := cmp.Diff(wantTotals(st), gotTotals); diff != "" {
		t.Errorf("totals in the DOM (-want +got):\n%s", diff)
	}
	if got, want := len(st.Assets), 9; got != want {
		t.Errorf("assets in the state: got %d, want %d (3 texts, 3 images, 3 videos)", got, want)
	}

	// The page's check must see broken media too, or the test above could
	// never fail: remove one image and one video and look again.
	for _, f := range []string{"out/image.hero/aurora.png", "out/video.spot/aurora.mp4"} {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			t.Fatal(err)
		}
	}
	dom = string(chromium(t, "--dump-dom", "--virtual-time-budget=10000", page))
	wantBody["img-ok"] = fmt.Sprintf("%d/%d", imgs-1, imgs)
	wantBody["video-ok"] = fmt.Sprintf("%d/%d", vids-1, vids)
	wantBody["media-ok"] = fmt.Sprintf("%d/%d", imgs+vids-2, imgs+vids)
	if diff := cmp.Diff(wantBody, bodyState(dom)); diff != "" {
		t.Errorf("media check with two files removed (-want +got):\n%s", diff)
	}

	// A new report checks the files first: the two removed ones are
	// marked missing on their cards and no longer linked.
	if code, _, stderr := run(t, "report", "-simulate", dir); code != 0 {
		t.Fatalf("report: exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	dom = string(chromium(t, "--dump-dom", "--virtual-time-budget=10000", page))
	wantBody["img-ok"] = fmt.Sprintf("%d/%d", imgs-1, imgs-1)
	wantBody["video-ok"] = fmt.Sprintf("%d/%d", vids-1, vids-1)
	wantBody["media-ok"] = fmt.Sprintf("%d/%d", imgs+vids-2, imgs+vids-2)
	if diff := cmp.Diff(wantBody, bodyState(dom)); diff != "" {
		t.Errorf("media after a new report (-want +got):\n%s", diff)
	}
	if got := strings.Count(dom, `data-check="missing"`); got != 2 {
		t.Errorf("cards marking a missing file: got %d, want 2", got)
	}
}

// bodyState is what the page's script records on <body>, without the
// timing, which varies.
func bodyState(dom string) map[string]string {
	got := attrs(regexp.MustCompile(`<body[^>]*>`).FindString(dom))
	delete(got, "first-render-ms")
	if got["ready"] != "1" {
		got["ready"] = "not set: the script did not finish"
	} else {
		delete(got, "ready")
	}
	return got
}

// keepScreenshot copies the screenshot to screenshotArtifact and checks
// that it is a PNG.
func keepScreenshot(t *testing.T, shot string) {
	t.Helper()
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("read the screenshot: %v", err)
	}
	if len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Fatalf("screenshot: got %d bytes that are not a PNG, want a PNG", len(b))
	}
	if err := os.WriteFile(screenshotArtifact, b, 0o644); err != nil {
		t.Errorf("keep the screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", screenshotArtifact)
}

var attrRE = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)

// attrs returns the data attributes of one start tag, without "data-".
func attrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
		out[m[1]] = m[2]
	}
	return out
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

// wantTotals computes the totals the page should carry, from the state of
// a campaign whose every asset completed and whose files are intact.
func wantTotals(st *state.State) map[string]string {
	cost, files := 0, 0
	for _, a := range st.Assets {
		if a.CostCents != nil {
			cost += *a.CostCents
		}
		files += len(a.Outputs)
	}
	n := strconv.Itoa(len(st.Assets))
	out := map[string]string{"assets": n, "completed": n, "actual-cents": strconv.Itoa(cost),
		"estimated-cents": strconv.Itoa(cost), "unpriced": "0", "to-spend-cents": "0", "to-spend-unpriced": "0",
		"files-ok": strconv.Itoa(files)}
	if st.Balance != nil {
		out["balance-cents"] = strconv.Itoa(st.Balance.Cents)
	}
	return out
}
