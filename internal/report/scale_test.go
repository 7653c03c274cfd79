package report_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/report"
	"github.com/xpflow/xpflow/internal/state"
)

// bigCampaign builds a campaign of 4*n assets in four blocks, with a
// known number of each status:
//   - text.hook[k]: completed;
//   - image.hero[k]: completed with a file, failed for every 50th key;
//   - video.spot[k]: skipped (never recorded) where its image failed,
//     submitted for every 10th key, else completed (not downloaded);
//   - video.teaser[k]: never generated; skipped where its spot was.
//
// It returns the state, the plan, and the expected count of each status.
func bigCampaign(t testing.TB, dir string, n int) (*state.State, []report.Planned, map[string]int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 18))
	for x := range 32 {
		for y := range 18 {
			img.Set(x, y, color.RGBA{R: uint8(x * 8), G: 80, B: 160, A: 255})
		}
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	hero := filepath.Join(dir, "out", "image.hero", "hero.png")
	if err := os.MkdirAll(filepath.Dir(hero), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hero, pngBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	heroOut := state.Output{URL: "https://cdn.example/hero.png", File: "out/image.hero/hero.png",
		SHA256: sha256Hex(pngBuf.Bytes()), Bytes: int64(pngBuf.Len())}

	st := state.New()
	var plan []report.Planned
	want := map[string]int{}
	one, five, price := 1, 5, 480
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	rec := func(a *state.Asset) {
		a.IntentAt, a.CompletedAt = at, at.Add(1500*time.Millisecond)
		st.Assets[a.Address] = a
	}
	for i := range n {
		k := fmt.Sprintf("p%d", i)
		text, hero, spot, teaser := `text.hook["`+k+`"]`, `image.hero["`+k+`"]`, `video.spot["`+k+`"]`, `video.teaser["`+k+`"]`
		rec(&state.Asset{Address: text, Kind: "text", Model: "openai/gpt-4o", Status: state.StatusCompleted,
			Request: map[string]any{"prompt": "Write a hook for product " + k + "."}, CostCents: &one,
			Content: fmt.Sprintf("Hook number %d for product %s.", i, k)})
		plan = append(plan, report.Planned{Address: text, Kind: "text", Model: "openai/gpt-4o", Action: "noop",
			EstimatedCents: 1, Priced: true, Observed: true})
		want["completed"]++

		heroFailed := i%50 == 0
		h := &state.Asset{Address: hero, Kind: "image", Model: "bytedance/seedream-4.5", DependsOn: []string{text},
			Request: map[string]any{"prompt": "Hero shot of product " + k + ", studio light.", "aspect_ratio": "16:9"}}
		if heroFailed {
			h.Status, h.Error = state.StatusFailed, "generation failed: content policy"
			want["failed"]++
		} else {
			h.Status, h.CostCents, h.Outputs = state.StatusCompleted, &five, []state.Output{heroOut}
			want["completed"]++
		}
		rec(h)
		action := "noop"
		if heroFailed {
			action = "retry"
		}
		plan = append(plan, report.Planned{Address: hero, Kind: "image", Model: "bytedance/seedream-4.5", Action: action,
			Deps: []string{text}, EstimatedCents: 5, Priced: true, Observed: true})

		switch {
		case heroFailed:
			want["skipped"]++
			plan = append(plan, report.Planned{Address: spot, Kind: "video", Model: "seedance-2.0/image-to-video",
				Action: "create", Deps: []string{hero}, EstimatedCents: 480, Priced: true,
				Prompt: "Slow push-in on product " + k + ".", Params: map[string]string{"image_url": "(known after apply)"}})
		case i%10 == 0:
			rec(&state.Asset{Address: spot, Kind: "video", Model: "seedance-2.0/image-to-video", DependsOn: []string{hero},
				Status: state.StatusSubmitted, TaskID: "vid_" + k, CostCents: &price,
				Request: map[string]any{"prompt": "Slow push-in on product " + k + ".", "duration": 8}})
			want["submitted"]++
			plan = append(plan, report.Planned{Address: spot, Kind: "video", Model: "seedance-2.0/image-to-video",
				Action: "resume", Deps: []string{hero}, EstimatedCents: 480, Priced: true})
		default:
			rec(&state.Asset{Address: spot, Kind: "video", Model: "seedance-2.0/image-to-video", DependsOn: []string{hero},
				Status: state.StatusCompleted, CostCents: &price,
				Outputs: []state.Output{{URL: "https://cdn.example/" + k + ".mp4"}},
				Request: map[string]any{"prompt": "Slow push-in on product " + k + ".", "duration": 8}})
			want["completed"]++
			plan = append(plan, report.Planned{Address: spot, Kind: "video", Model: "seedance-2.0/image-to-video",
				Action: "download", Deps: []string{hero}, EstimatedCents: 480, Priced: true})
		}

		if heroFailed {
			want["skipped"]++
		} else {
			want["planned"]++
		}
		plan = append(plan, report.Planned{Address: teaser, Kind: "video", Model: "wan-2.6/text-to-video", Action: "create",
			Deps: []string{spot}, Prompt: "A teaser for product " + k + "."})
	}
	return st, plan, want
}

// TestChromiumTenThousandCards renders a 10,000-asset report and loads it
// in headless chromium three times: it prints the time to first
// contentful paint (the goal is 2 s; the test fails only past a generous
// 10 s), then checks that the filters and the search find exactly the
// cards they should, through the page's own controls.
func TestChromiumTenThousandCards(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	st, plan, want := bigCampaign(t, dir, 2500)
	path := filepath.Join(dir, "out", "report.html")
	start := time.Now()
	var buf bytes.Buffer
	if err := report.Write(&buf, st, report.Options{BaseDir: filepath.Dir(path), SpecDir: dir, Plan: plan, Title: "ten thousand"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report.Write of %d assets: %v, %.1f MiB", len(plan), time.Since(start).Round(time.Millisecond), float64(buf.Len())/(1<<20))

	b := startBrowser(t, 1280, 1000)
	page := "file://" + filepath.ToSlash(path)
	var fcps, cards []float64
	for range 3 {
		b.navigate(page)
		var m struct {
			FCP, Cards, DCL, Load, Render float64
		}
		b.eval(paintTimes, &m)
		fcps, cards = append(fcps, m.FCP), append(cards, m.Cards)
		t.Logf("first contentful paint %.0f ms, first cards drawn %.0f ms, DOMContentLoaded %.0f ms, load %.0f ms, script's own work %.0f ms",
			m.FCP, m.Cards, m.DCL, m.Load, m.Render)
	}
	sort.Float64s(fcps)
	sort.Float64s(cards)
	t.Logf("10,000 cards: first contentful paint median %.0f ms (of %.0f, %.0f, %.0f); first cards drawn median %.0f ms (of %.0f, %.0f, %.0f); goal 2000 ms",
		fcps[1], fcps[0], fcps[1], fcps[2], cards[1], cards[0], cards[1], cards[2])
	if fcps[1] > 10000 || cards[1] > 10000 {
		t.Errorf("first paint: median %.0f ms, cards drawn at %.0f ms; want both well under 10 s (goal 2 s)", fcps[1], cards[1])
	}

	var got pageState
	b.eval(waitReady, nil)
	b.eval(readState, &got)
	if diff := got.check(10000, 48, ""); diff != "" {
		t.Errorf("unfiltered: %s", diff)
	}
	tests := []struct {
		name   string
		action string
		want   int
		status string // every shown card has it, when set
	}{
		{"status failed", clickStatus("failed"), want["failed"], "failed"},
		{"status planned", clickStatus("planned"), want["planned"], "planned"},
		{"status submitted", clickStatus("submitted"), want["submitted"], "submitted"},
		{"all statuses again", clickStatus(""), 10000, ""},
		{"kind video", setSelect("f-kind", "video"), 5000, ""},
		{"and status skipped", clickStatus("skipped"), want["skipped"], "skipped"},
		{"and model of the spots", setSelect("f-model", "seedance-2.0/image-to-video"), want["skipped"] / 2, "skipped"},
		{"every filter off", clickStatus("") + setSelect("f-kind", "") + setSelect("f-model", ""), 10000, ""},
		{"model of the teasers", setSelect("f-model", "wan-2.6/text-to-video"), 2500, ""},
		{"model off", setSelect("f-model", ""), 10000, ""},
		{"search a generated text", search("number 1234"), 1, "completed"},
		{"search an address", search(`teaser["p9"]`), 1, "planned"},
		{"search a failure reason", search("CONTENT policy"), want["failed"], "failed"},
		{"search nothing", search("no such words anywhere"), 0, ""},
		{"search cleared", search(""), 10000, ""},
	}
	for _, tc := range tests {
		var ms float64
		b.eval(`(function () { var t0 = performance.now(); `+tc.action+` return performance.now() - t0; })()`, &ms)
		b.eval(readState, &got)
		shown := min(tc.want, 48)
		if diff := got.check(tc.want, shown, tc.status); diff != "" {
			t.Errorf("%s: %s", tc.name, diff)
		}
		t.Logf("%s: %d matches in %.1f ms", tc.name, got.Matches, ms)
	}

	// A link to a card on the last page shows that page.
	last := plan[len(plan)-1].Address
	b.eval(`new Promise(function (r) {
	  window.addEventListener("hashchange", function () { r(true); }, {once: true}); // after the page's own listener
	  location.hash = "#asset-video-teaser-p2499";
	})`, nil)
	var at struct {
		Page    string `json:"page"`
		Address string `json:"address"`
	}
	b.eval(`({page: document.body.dataset.page, address: (document.querySelector("article.card.targeted") || {dataset: {}}).dataset.address})`, &at)
	if at.Page != "209" || at.Address != last {
		t.Errorf("after following a link to %s: got page %s with %q targeted, want page 209 with it", last, at.Page, at.Address)
	}
}

// paintTimes resolves with the page's paint and load timings, in ms from
// the start of navigation, once the first contentful paint is recorded.
const paintTimes = `new Promise(function (resolve) {
  function done() {
    var p = performance.getEntriesByName("first-contentful-paint")[0];
    if (!p) { return false; }
    var nav = performance.getEntriesByType("navigation")[0];
    resolve({FCP: p.startTime, DCL: nav.domContentLoadedEventEnd, Load: nav.loadEventEnd,
      Render: +document.body.dataset.firstRenderMs, Cards: +document.body.dataset.cardsAtMs});
    return true;
  }
  if (!done()) { new PerformanceObserver(function () { done(); }).observe({type: "paint", buffered: true}); }
})`

// waitReady resolves once the page's script has read every card and set
// up its filters.
const waitReady = `new Promise(function (resolve) {
  (function poll() { if (document.body.dataset.ready === "1") { resolve(true); } else { setTimeout(poll, 10); } })();
})`

// readState reads what the page shows: its counts and the status of every
// shown card.
const readState = `({matches: +document.body.dataset.matches, shown: +document.body.dataset.shown,
  statuses: Array.from(document.querySelectorAll("#cards article.card")).map(function (c) { return c.dataset.status; })})`

type pageState struct {
	Matches  int      `json:"matches"`
	Shown    int      `json:"shown"`
	Statuses []string `json:"statuses"`
}

// check says how the page differs from wantMatches matching cards, shown
// of them in the DOM, all of status (when not empty).
func (p pageState) check(wantMatches, shown int, status string) string {
	var diffs []string
	if p.Matches != wantMatches {
		diffs = append(diffs, fmt.Sprintf("matches: got %d, want %d", p.Matches, wantMatches))
	}
	if p.Shown != shown || len(p.Statuses) != shown {
		diffs = append(diffs, fmt.Sprintf("cards in the DOM: got %d (%d read), want %d", p.Shown, len(p.Statuses), shown))
	}
	for _, s := range p.Statuses {
		if status != "" && s != status {
			diffs = append(diffs, fmt.Sprintf("a shown card is %s, want only %s", s, status))
			break
		}
	}
	return strings.Join(diffs, "; ")
}

func clickStatus(s string) string {
	return fmt.Sprintf(`document.querySelector('#filters button[data-filter=%q]').click();`, s)
}

func setSelect(id, v string) string {
	return fmt.Sprintf(`(function (s) { s.value = %q; s.dispatchEvent(new Event("change")); })(document.getElementById(%q));`, v, id)
}

func search(q string) string {
	return fmt.Sprintf(`(function (s) { s.value = %q; s.dispatchEvent(new Event("search")); })(document.getElementById("f-q"));`, q)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
