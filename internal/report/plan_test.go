package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixturePlan is a plan over the fixture's spec: some assets recorded,
// some never generated for each reason a card can give.
func fixturePlan() []Planned {
	return []Planned{
		{Address: `text.hook["a"]`, Kind: "text", Model: "openai/gpt-4o", Action: "noop", EstimatedCents: 1, Priced: true, Observed: true},
		{Address: `image.hero["a"]`, Kind: "image", Model: "bytedance/seedream-4.5", Action: "replace",
			Reason: "the request changed", Changes: []string{`prompt: "old" → "new"`}, Deps: []string{`text.hook["a"]`},
			EstimatedCents: 5, Priced: true, Observed: true},
		{Address: `image.hero["d"]`, Kind: "image", Model: "bytedance/seedream-4.5", Action: "unknown",
			Reason: "a generate request was sent but its answer was never recorded"},
		{Address: `image.hero["e"]`, Kind: "image", Model: "bytedance/seedream-4.5", Action: "create",
			EstimatedCents: 5, Priced: true, Observed: true, Prompt: "Fifth hero.", Params: map[string]string{"aspect_ratio": "1:1"}},
		{Address: `video.spot["a"]`, Kind: "video", Model: "seedance-2.0/image-to-video", Action: "noop",
			Deps: []string{`image.hero["a"]`}, EstimatedCents: 480, Priced: true},
		{Address: `video.spot["d"]`, Kind: "video", Model: "seedance-2.0/image-to-video", Action: "create",
			Deps: []string{`image.hero["d"]`}, EstimatedCents: 480, Priced: true,
			Params: map[string]string{"image_url": "(known after apply)"}},
		{Address: `video.spot["e"]`, Kind: "video", Model: "seedance-2.0/image-to-video", Action: "create",
			Deps: []string{`image.hero["e"]`}, EstimatedCents: 480, Priced: true},
		{Address: `video.spot["f"]`, Kind: "video", Model: "wan-2.6/new", Action: "create",
			Deps: []string{`video.spot["b"]`}},
		{Address: `video.spot["b"]`, Kind: "video", Model: "seedance-2.0/image-to-video", Action: "retry",
			Reason: "failed last time", Deps: []string{`image.hero["b"]`}, EstimatedCents: 480, Priced: true},
		{Address: `text.bad`, Kind: "text", Model: "openai/gpt-4o", Error: "Unsupported attribute: no such local (bad.xp.hcl:3)"},
	}
}

func renderPlanned(t *testing.T) (string, *pageData) {
	t.Helper()
	return render(t, loadFixture(t), Options{BaseDir: filepath.Join(fixtureDir, "out"), SpecDir: fixtureDir, Plan: fixturePlan()})
}

func TestWritePlanCards(t *testing.T) {
	_, d := renderPlanned(t)
	got := summarize(d)
	want := map[string]cardSummary{
		`text.hook["a"]`: {ID: "asset-text-hook-a", Status: "completed", Cost: "1/est 1 observed",
			UsedBy: []string{"#asset-image-hero-a"}},
		`image.hero["a"]`: {ID: "asset-image-hero-a", Status: "completed", Cost: "5/est 5 observed",
			Next:  `replace: the request changed (prompt: "old" → "new")`,
			Files: []string{"ok:./image.hero/a%20b%231.png"},
			Uses:  []string{"#asset-text-hook-a"}, UsedBy: []string{"#asset-video-spot-a"}},
		`image.hero["e"]`: {ID: "asset-image-hero-e", Status: "planned", Cost: "/est 5 observed",
			Reason: "the next apply creates it", UsedBy: []string{"#asset-video-spot-e"}},
		`video.spot["e"]`: {ID: "asset-video-spot-e", Status: "planned", Cost: "/est 480 catalog",
			Reason: `it waits for image.hero["e"] (not generated yet)`, Uses: []string{"#asset-image-hero-e"}},
		`video.spot["d"]`: {ID: "asset-video-spot-d", Status: "skipped", Cost: "/est 480 catalog",
			Reason: `upstream image.hero["d"] is of unknown outcome, so this asset was never generated`,
			Uses:   []string{"#asset-image-hero-d"}},
		`video.spot["f"]`: {ID: "asset-video-spot-f", Status: "skipped",
			Reason: `upstream video.spot["b"] is failed, so this asset was never generated`,
			Uses:   []string{"#asset-video-spot-b"}},
		`text.bad`: {ID: "asset-text-bad", Status: "error",
			Reason: "the spec cannot evaluate this asset: Unsupported attribute: no such local (bad.xp.hcl:3)"},
		`image.hero["b"]`: {ID: "asset-image-hero-b", Status: "completed", Cost: "5",
			Next:  "forget: no longer in the spec, so the next apply drops this record (its files stay on disk)",
			Files: []string{"not-downloaded:https://cdn.example/2.png"},
			Uses:  []string{"missing:text.gone"}, UsedBy: []string{"#asset-video-spot-b"}},
		`image.hero["c"]`: {ID: "asset-image-hero-c", Status: "submitted",
			Reason: "task img_c is paid for and running: run apply again to collect it",
			Next:   "kept: no longer in the spec, but it may be paid for; put it back in the spec to finish it, or drop it with xpflow state rm"},
		`image.hero["d"]`: {ID: "asset-image-hero-d", Status: "pending",
			Reason: "the generate request may have been sent and charged, but its answer was never recorded",
			Next:   "unknown: a generate request was sent but its answer was never recorded", UsedBy: []string{"#asset-video-spot-d"}},
		`video.spot["a"]`: {ID: "asset-video-spot-a", Status: "completed", Cost: "480/est 480 catalog",
			Files: []string{"ok:./video.spot/a.mp4"}, Uses: []string{"#asset-image-hero-a"}},
		`video.spot["b"]`: {ID: "asset-video-spot-b", Status: "failed", Cost: "/est 480 catalog",
			Reason: "generation failed: content policy <violation>", Next: "retry: failed last time",
			Uses: []string{"#asset-image-hero-b"}, UsedBy: []string{"#asset-video-spot-f"}},
		`video.spot["c"]`: {ID: "asset-video-spot-c", Status: "skipped",
			Reason: "insufficient credits: balance 12 cents, need 480",
			Next:   "kept: no longer in the spec, but it may be paid for; put it back in the spec to finish it, or drop it with xpflow state rm"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cards (-want +got):\n%s", diff)
	}
}

func TestWritePlanShowsParamsOfUnrecordedAssets(t *testing.T) {
	_, d := renderPlanned(t)
	byAddr := map[string]*card{}
	for _, c := range d.Cards {
		byAddr[c.Address] = c
	}
	e := byAddr[`image.hero["e"]`]
	if e.Prompt != "Fifth hero." || e.Model != "bytedance/seedream-4.5" || e.Kind != "image" {
		t.Errorf(`image.hero["e"]: got prompt %q, model %q, kind %q; want the plan's`, e.Prompt, e.Model, e.Kind)
	}
	if diff := cmp.Diff([]param{{Key: "aspect_ratio", Value: "1:1"}}, e.Params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
}

func TestWritePlanTotals(t *testing.T) {
	page, d := renderPlanned(t)
	got := parseTotals(page)
	// Estimated: one take of every planned asset, priced ones:
	// 1 + 5 + 5 + 480*4 = 1931; unpriced: image.hero["d"], video.spot["f"], text.bad.
	// To spend: replace 5 + create 5 + create 480*2 + retry 480 = 1450, and
	// video.spot["f"] unpriced.
	want := map[string]string{"assets": "13", "completed": "4", "submitted": "1", "pending": "1", "planned": "2",
		"skipped": "3", "failed": "1", "error": "1", "actual-cents": "491", "balance-cents": "12",
		"estimated-cents": "1931", "unpriced": "3", "to-spend-cents": "1450", "to-spend-unpriced": "1",
		"files-ok": "2", "files-not-downloaded": "1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		`<span class="n">$19.31</span><span class="l">estimated</span><span class="s">3 assets unpriced</span>`,
		`<span class="n">$14.50</span><span class="l">next apply</span><span class="s">+ 1 unpriced generation</span>`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page: got no %q, want it", s)
		}
	}
	wantModels := []modelCost{
		{Model: "seedance-2.0/image-to-video", Assets: 5, ActualCents: 480, EstimatedCents: 1920, ToSpendCents: 1440},
		{Model: "bytedance/seedream-4.5", Assets: 5, ActualCents: 10, EstimatedCents: 10, Unpriced: 1, ToSpendCents: 10},
		{Model: "openai/gpt-4o", Assets: 2, ActualCents: 1, EstimatedCents: 1, Unpriced: 1},
		{Model: "wan-2.6/new", Assets: 1, Unpriced: 1, ToSpendUnpriced: 1},
	}
	if diff := cmp.Diff(wantModels, d.Models); diff != "" {
		t.Errorf("cost per model (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		`<span>$4.80 spent · est. $19.20 · next apply $14.40</span>`,
		`<span>$0.01 spent · est. $0.01 + 1 unpriced</span>`,
		`<span>$0.00 spent · est. unknown · next apply unknown</span>`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("cost bars: got no %q, want it", s)
		}
	}
}

// TestWriteUnknownIsNotZero checks that an estimate with no known price
// reads "unknown", never "$0.00".
func TestWriteUnknownIsNotZero(t *testing.T) {
	plan := []Planned{{Address: "text.a", Kind: "text", Model: "m", Action: "create"}}
	st := loadFixture(t)
	st.Assets = nil
	page, _ := render(t, st, Options{Plan: plan})
	for _, s := range []string{
		`<span class="n">unknown</span><span class="l">estimated</span><span class="s">1 asset unpriced</span>`,
		`<span class="n">unknown</span><span class="l">next apply</span>`,
		`$0.00 spent · est. unknown`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page: got no %q, want it", s)
		}
	}
}

// TestWriteNothingToGenerate checks the next-apply tile of a finished
// campaign says so, rather than a bare "$0.00 estimated".
func TestWriteNothingToGenerate(t *testing.T) {
	plan := []Planned{{Address: `text.hook["a"]`, Kind: "text", Model: "openai/gpt-4o", Action: "noop", EstimatedCents: 1, Priced: true}}
	page, _ := render(t, loadFixture(t), Options{Plan: plan})
	want := `<span class="n">$0.00</span><span class="l">next apply</span><span class="s">nothing to generate</span>`
	if !strings.Contains(page, want) {
		t.Errorf("page: got no %q, want it", want)
	}
	page, _ = renderPlanned(t)
	if strings.Contains(page, "nothing to generate") {
		t.Errorf("page of a plan with generations says %q", "nothing to generate")
	}
}
