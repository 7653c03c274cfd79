package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// The tests in this file hold issue 12's cost lines, plan -json reasons,
// state list -json, output, the review page and kept takes to what a user
// sees: the built binary, run from inside the campaign directory, piped.

// skipCampaign: the API rejects video.spot["a"], whose first frame is not
// an http(s) URL, so video.cut["a"], made from it, is skipped; the b chain
// is generated. Every asset is a priced video of one model.
const skipCampaign = `xpflow {
  output_dir = "out"
}

variable "frames" {
  type = map(string)
  default = {
    a = "ftp://example.com/a.png"
    b = "https://example.com/b.png"
  }
}

video "spot" {
  for_each  = var.frames
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in, shot ${each.key}."
  image_url = each.value
  duration  = 4
}

video "cut" {
  for_each  = var.frames
  model     = "seedance-2.0/image-to-video"
  prompt    = "A cut of shot ${each.key}."
  image_url = video.spot[each.key].url
  duration  = 4
}

output "cut_b" {
  value = video.cut["b"].file
}
`

// fastVideos makes the simulator's videos take a second or two.
var fastVideos = sim.WithLatency("video", time.Second, 2*time.Second)

// planDoc is the part of plan -json these tests read.
type planDoc struct {
	Assets             []planAsset `json:"assets"`
	EstimatedCostCents int         `json:"estimated_cost_cents"`
	UnpricedAssets     int         `json:"unpriced_assets"`
}

type planAsset struct {
	Address            string       `json:"address"`
	Action             string       `json:"action"`
	EstimatedCostCents *int         `json:"estimated_cost_cents"`
	Reason             string       `json:"reason"`
	Changes            []planChange `json:"changes"`
	PriceSource        string       `json:"price_source"`
}

type planChange struct {
	Attribute string `json:"attribute"`
	Before    string `json:"before"`
	After     string `json:"after"`
}

// planJSON runs plan -json with extra args and parses it.
func planJSON(t *testing.T, u userRun, extra ...string) planDoc {
	t.Helper()
	args := append([]string{"plan", "-json"}, extra...)
	r := u.run(t, args...).must(t, 0, args...)
	var doc planDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("xpflow %s does not parse: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
	return doc
}

// asset returns the plan's entry for addr.
func (d planDoc) asset(t *testing.T, addr string) planAsset {
	t.Helper()
	for _, a := range d.Assets {
		if a.Address == addr {
			return a
		}
	}
	t.Fatalf("plan -json has no %s", addr)
	return planAsset{}
}

// loadState reads the campaign's state the way xpflow does.
func loadState(t *testing.T, dir string) *state.State {
	t.Helper()
	st, err := state.Load(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func costOf(t *testing.T, st *state.State, addr string) int {
	t.Helper()
	a := st.Assets[addr]
	if a == nil || a.CostCents == nil {
		t.Fatalf("the state records no cost for %s", addr)
	}
	return *a.CostCents
}

// cents writes cents as the CLI does, for expectations computed from the
// state: 240 is "$2.40".
func cents(c int) string { return fmt.Sprintf("$%d.%02d", c/100, c%100) }

// lineWith returns the first line of out that starts with prefix.
func lineWith(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestUnknownPriceIsNeverZero: a plan of unpriced models says "unknown"
// and how many are unpriced, in the text, the table and the JSON; after an
// apply the charges the state observed price the next plan, labelled
// observed, in the text and in -json.
func TestUnknownPriceIsNeverZero(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	dir := filepath.Join(root, "campaign")
	u := userRun{dir: dir, env: env}

	r := u.run(t, "plan").must(t, 0, "plan")
	if got, want := lineWith(r.stdout, "Estimated cost:"), "Estimated cost: unknown (2 assets unpriced)."; got != want {
		t.Errorf("cost line of an unpriced plan:\n got %q\nwant %q\n%s", got, want, r.stdout)
	}
	for _, row := range []string{"image", "text", "total"} {
		re := regexp.MustCompile(`(?m)^  ` + row + ` .*  unknown \(\d unpriced\)  +unknown  +-$`)
		if !re.MatchString(r.stdout) {
			t.Errorf("breakdown row %q does not say the change and new total are unknown:\n%s", row, r.stdout)
		}
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "unpriced") && regexp.MustCompile(`\$0\.00 *\+|~\$0\.00|unpriced.*\$0\.00 from`).MatchString(l) {
			t.Errorf("an unknown price reads as $0.00: %q", l)
		}
	}
	doc := planJSON(t, u)
	if doc.UnpricedAssets != 2 || doc.EstimatedCostCents != 0 {
		t.Errorf("plan -json: %d unpriced, %d cents; want 2 unpriced, 0 priced cents", doc.UnpricedAssets, doc.EstimatedCostCents)
	}
	for _, a := range doc.Assets {
		if a.EstimatedCostCents != nil || a.PriceSource != "none" {
			t.Errorf("plan -json %s: estimated %v, price_source %q; want null and none", a.Address, a.EstimatedCostCents, a.PriceSource)
		}
	}

	r = u.run(t, "apply", "-auto-approve").must(t, 0, "apply", "-auto-approve")
	st := loadState(t, dir)
	hook, hero := costOf(t, st, `text.hook["aurora"]`), costOf(t, st, `image.hero["aurora"]`)
	if got, want := lineWith(r.stdout, "Cost:"), "Cost: "+cents(hook+hero)+" actual; estimate: unknown (2 assets unpriced)."; got != want {
		t.Errorf("apply's cost line:\n got %q\nwant %q", got, want)
	}

	// The state now knows what the image cost: the next plan prices its
	// replacement at that, and says so.
	r = u.run(t, "plan", "-replace", "image.hero").must(t, 0, "plan", "-replace", "image.hero")
	if !regexp.MustCompile(`~ image\.hero\["aurora"\] .* ` + regexp.QuoteMeta(cents(hero)+" (observed)") + `\n`).MatchString(r.stdout) {
		t.Errorf("the replaced image's row does not show its observed price %s:\n%s", cents(hero), r.stdout)
	}
	want := "Estimated cost: " + cents(hero) + " (" + cents(hero) + " observed in earlier runs, $0.00 from the catalog)."
	if got := lineWith(r.stdout, "Estimated cost:"); got != want {
		t.Errorf("cost line after an apply:\n got %q\nwant %q", got, want)
	}
	doc = planJSON(t, u, "-replace", "image.hero")
	a := doc.asset(t, `image.hero["aurora"]`)
	if a.Action != "replace" || a.Reason != "forced by -replace" || a.PriceSource != "observed" || a.EstimatedCostCents == nil || *a.EstimatedCostCents != hero {
		t.Errorf("plan -json of the replaced image: %+v; want replace, forced by -replace, observed at %d cents", a, hero)
	}
	if doc.UnpricedAssets != 0 || doc.EstimatedCostCents != hero {
		t.Errorf("plan -json totals: %d cents, %d unpriced; want %d and 0", doc.EstimatedCostCents, doc.UnpricedAssets, hero)
	}
}

// TestApplyThatSkips runs a campaign whose upstream the API rejects: the
// summary counts what was generated of what was planned and leaves the
// skipped asset out; state list -json, output, report, plan -json and the
// max_cost_cents error then read the campaign as it is.
func TestApplyThatSkips(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, skipCampaign, fastVideos)
	dir := filepath.Join(root, "campaign")
	u := userRun{dir: dir, env: env}

	before := planJSON(t, u)
	price := *before.asset(t, `video.spot["b"]`).EstimatedCostCents
	r := u.run(t, "plan").must(t, 0, "plan")
	sameColumn(t, "plan rows: model", r.stdout, regexp.MustCompile(`^  \+ `), "seedance-2.0/")
	sameColumn(t, "plan rows: key parameters", r.stdout, regexp.MustCompile(`^  \+ `), " 4s ")
	sameColumn(t, "plan rows: cost", r.stdout, regexp.MustCompile(`^  \+ `), "$")
	r = u.run(t, "apply", "-auto-approve").must(t, 1, "apply", "-auto-approve")
	sameColumn(t, "apply's event lines: address", r.stdout, regexp.MustCompile(`^\d{4}-\d\d-\d\dT`), "video.")
	if want := "Apply finished with errors: 2 done, 1 failed, 1 skipped."; !strings.Contains(r.stdout, want) {
		t.Errorf("apply summary lacks %q:\n%s", want, r.stdout)
	}
	st := loadState(t, dir)
	actual := costOf(t, st, `video.spot["b"]`) + costOf(t, st, `video.cut["b"]`)
	row := regexp.MustCompile(`(?m)^  seedance-2\.0/image-to-video +2 of 4 +` + regexp.QuoteMeta(cents(actual)) + ` +` + regexp.QuoteMeta(cents(2*price)) + `$`)
	if !row.MatchString(r.stdout) {
		t.Errorf("the model row does not count 2 generated of 4 planned at %s actual, %s estimated:\n%s", cents(actual), cents(2*price), r.stdout)
	}
	if strings.Contains(r.stdout, "× :") {
		t.Errorf("the summary has the format slip '× :':\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, `video.spot["a"]: `) || !strings.Contains(r.stdout, "is not an http(s) URL") {
		t.Errorf("the summary does not say why video.spot[\"a\"] failed:\n%s", r.stdout)
	}

	// state list -json lists the records: the failure, not the skip.
	r = u.run(t, "state", "list", "-json").must(t, 0, "state", "list", "-json")
	var list []struct {
		Address, Status, Kind, Model string
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("state list -json: %v\n%s", err, r.stdout)
	}
	wantList := []struct{ Address, Status, Kind, Model string }{
		{`video.cut["b"]`, "completed", "video", "seedance-2.0/image-to-video"},
		{`video.spot["a"]`, "failed", "video", "seedance-2.0/image-to-video"},
		{`video.spot["b"]`, "completed", "video", "seedance-2.0/image-to-video"},
	}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("state list -json (-want +got):\n%s", diff)
	}

	// output, from inside the directory, as a script and as a person reads it.
	file := st.Assets[`video.cut["b"]`].Outputs[0].File
	for args, want := range map[string]string{
		"output":             `cut_b = "` + file + "\"\n",
		"output cut_b":       `cut_b = "` + file + "\"\n",
		"output -raw cut_b":  file,
		"output -json cut_b": `"` + file + "\"\n",
	} {
		r := u.run(t, strings.Fields(args)...).must(t, 0, args)
		if r.stdout != want {
			t.Errorf("xpflow %s: got %q, want %q", args, r.stdout, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
		t.Errorf("output names %s: %v", file, err)
	}

	// The review page has a card for the skipped asset that says why.
	r = u.run(t, "report").must(t, 0, "report")
	if want := "Wrote a report of 4 assets of the spec (3 recorded) to out/report.html"; !strings.Contains(r.stdout, want) {
		t.Errorf("report: lacks %q:\n%s", want, r.stdout)
	}
	var rep struct {
		Cards []struct {
			Address, Status, Reason string
		} `json:"cards"`
	}
	r = u.run(t, "report", "-json").must(t, 0, "report", "-json")
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report -json: %v", err)
	}
	skipped := false
	for _, c := range rep.Cards {
		if c.Address == `video.cut["a"]` {
			skipped = true
			if c.Status != "skipped" || !strings.Contains(c.Reason, `upstream video.spot["a"] is failed`) {
				t.Errorf("the skipped asset's card: status %q, reason %q", c.Status, c.Reason)
			}
		}
	}
	if !skipped {
		t.Errorf("report -json has no card for the skipped video.cut[\"a\"]: %+v", rep.Cards)
	}
	page, err := os.ReadFile(filepath.Join(dir, "out", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `"status":"skipped","reason":"upstream video.spot[\"a\"] is failed`) {
		t.Errorf("the page has no skipped card for video.cut[\"a\"] with its reason")
	}

	// plan -json says why each asset has its action.
	if err := os.Remove(filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
	doc := planJSON(t, u)
	if a := doc.asset(t, `video.cut["b"]`); a.Action != "download" || a.Reason != "a local file is missing or changed" || a.PriceSource != "" || len(a.Changes) != 0 {
		t.Errorf("a deleted output: %+v; want download, a local file is missing or changed, no price, no changes", a)
	}
	if a := doc.asset(t, `video.cut["a"]`); a.Action != "create" || a.Reason != "not generated yet" || a.PriceSource != "observed" {
		t.Errorf("the skipped asset: %+v; want create, not generated yet, observed price", a)
	}
	doc = planJSON(t, u, "-replace", `video.spot["b"]`)
	spotB := st.Assets[`video.spot["b"]`]
	if a := doc.asset(t, `video.spot["b"]`); a.Action != "replace" || a.Reason != "forced by -replace" || a.PriceSource != "observed" ||
		a.EstimatedCostCents == nil || *a.EstimatedCostCents != *spotB.CostCents {
		t.Errorf("-replace: %+v; want replace, forced by -replace, observed at %d cents", a, *spotB.CostCents)
	}
	cut := doc.asset(t, `video.cut["b"]`)
	if cut.Action != "replace" || cut.Reason != `an upstream output will change: video.spot["b"]` || len(cut.Changes) != 1 ||
		cut.Changes[0].Attribute != "image_url" || cut.Changes[0].Before != `"`+spotB.Outputs[0].URL+`"` || cut.Changes[0].After != "(known after apply)" {
		t.Errorf("the replaced video's downstream: %+v; want replace of image_url from %q to (known after apply)", cut, spotB.Outputs[0].URL)
	}

	// A changed request: before and after values of what changed.
	spec := filepath.Join(dir, "quick.xp.hcl")
	edit(t, spec, "Slow push-in, shot", "Slow pull-out, shot")
	doc = planJSON(t, u)
	a := doc.asset(t, `video.spot["b"]`)
	wantChanges := []planChange{{Attribute: "prompt", Before: `"Slow push-in, shot b."`, After: `"Slow pull-out, shot b."`}}
	if a.Action != "replace" || a.Reason != "the request changed: prompt" || a.PriceSource != "observed" || !cmp.Equal(a.Changes, wantChanges) {
		t.Errorf("a changed prompt: %+v; want replace, the request changed: prompt, observed price, changes %+v", a, wantChanges)
	}

	// max_cost_cents below the plan: dollars, at the attribute's line.
	edit(t, spec, "  output_dir = \"out\"\n", "  output_dir     = \"out\"\n  max_cost_cents = 500\n")
	total := doc.EstimatedCostCents // the limit does not change the plan
	r = u.run(t, "plan").must(t, 1, "plan")
	for _, want := range []string{
		"Error: Estimated cost exceeds max_cost_cents",
		"on quick.xp.hcl line 3, in xpflow:",
		"   3:   max_cost_cents = 500",
		"The plan is estimated at " + cents(total) + ", above max_cost_cents = 500 ($5.00).",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("max_cost_cents error lacks %q:\n%s", want, r.stderr)
		}
	}
	if regexp.MustCompile(`\d+ cents`).MatchString(r.stderr) {
		t.Errorf("max_cost_cents error speaks in cents:\n%s", r.stderr)
	}
}

// sameColumn fails unless every line of out that matches row holds mark,
// at the same column.
func sameColumn(t *testing.T, what, out string, row *regexp.Regexp, mark string) {
	t.Helper()
	col, n := -1, 0
	for _, l := range strings.Split(out, "\n") {
		if !row.MatchString(l) {
			continue
		}
		n++
		i := strings.Index(l, mark)
		switch {
		case i < 0:
			t.Errorf("%s: %q lacks %q", what, l, mark)
		case col < 0:
			col = i
		case i != col:
			t.Errorf("%s: not aligned: %q at column %d, want %d, in %q\n%s", what, mark, i, col, l, out)
			return
		}
	}
	if n < 2 {
		t.Errorf("%s: %d lines to align, want at least 2:\n%s", what, n, out)
	}
}

// TestModelsTable: models lines its columns up and leaves no padding at
// the end of a line.
func TestModelsTable(t *testing.T) {
	t.Parallel()
	r := userRun{dir: t.TempDir()}.run(t, "models", "-simulate").must(t, 0, "models", "-simulate")
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("line ends in padding: %q", l)
		}
	}
	sameColumn(t, "models: price", r.stdout, regexp.MustCompile(`^  \S+ +\$`), "$")
	sameColumn(t, "models: price", r.stdout, regexp.MustCompile(`^  \S+ +unpriced`), "unpriced")
}

// edit replaces old by new in the file at path, failing if old is absent.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReplaceKeepsThePreviousTake: apply -replace from inside the
// directory generates again and keeps the paid earlier output on disk, in
// the state, and on the review page beside the current one.
func TestReplaceKeepsThePreviousTake(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	dir := filepath.Join(root, "campaign")
	u := userRun{dir: dir, env: env}
	u.run(t, "apply", "-auto-approve").must(t, 0, "apply", "-auto-approve")
	current := filepath.Join(dir, "out", "image.hero", "aurora.png")
	first := sha(t, current)

	r := u.run(t, "apply", "-auto-approve", "-replace", "image.hero").must(t, 0, "apply", "-replace")
	if !strings.Contains(r.stdout, "Apply complete: 1 done, 1 unchanged.") {
		t.Errorf("apply -replace:\n%s", r.stdout)
	}
	a := loadState(t, dir).Assets[`image.hero["aurora"]`]
	if len(a.Takes) != 1 || len(a.Takes[0].Outputs) != 1 {
		t.Fatalf("the state keeps %d earlier takes, want 1: %+v", len(a.Takes), a.Takes)
	}
	kept := a.Takes[0].Outputs[0].File
	if kept == "" || kept == a.Outputs[0].File {
		t.Fatalf("the earlier take is recorded at %q, the current at %q", kept, a.Outputs[0].File)
	}
	if got := sha(t, filepath.Join(dir, kept)); got != first {
		t.Errorf("%s holds %s, want the first take's %s", kept, got, first)
	}
	if got := sha(t, current); got == first || got != a.Outputs[0].SHA256 {
		t.Errorf("aurora.png holds %s: first take %s, recorded current %s", got, first, a.Outputs[0].SHA256)
	}

	r = u.run(t, "report", "-json").must(t, 0, "report", "-json")
	var rep struct {
		Cards []struct {
			Address string
			Takes   []struct {
				Files []struct{ Path, Check string }
			}
		} `json:"cards"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.Cards {
		if c.Address == `image.hero["aurora"]` {
			found = len(c.Takes) == 1 && len(c.Takes[0].Files) == 1 && c.Takes[0].Files[0].Path == kept && c.Takes[0].Files[0].Check == "ok"
		}
	}
	if !found {
		t.Errorf("report -json does not list the earlier take %s beside the current one:\n%s", kept, r.stdout)
	}
	u.run(t, "report").must(t, 0, "report")
	page, err := os.ReadFile(filepath.Join(dir, "out", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), filepath.Base(kept)) {
		t.Errorf("the page does not show the earlier take %s", kept)
	}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// oneAssetCampaign is one unpriced text asset.
const oneAssetCampaign = `text "ok" {
  prompt = "fine"
}
`

// TestCountsInGoodEnglish: what the binary counts reads "1 asset" and "2
// assets", never "asset(s)", in the report's notes and page, plan and
// window, run from inside the campaign, piped.
func TestCountsInGoodEnglish(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, oneAssetCampaign)
	dir := filepath.Join(root, "campaign")
	u := userRun{dir: dir, env: append(env, "XPFLOW_CACHE_DIR="+filepath.Join(root, "cache"))}
	var said []string // every stdout and note the test reads
	saw := func(s ...string) { said = append(said, s...) }

	// Before any apply, the report prices nothing: the note and the page
	// count the one asset.
	r := u.run(t, "report", "-json").must(t, 0, "report", "-json")
	var doc struct {
		Notes []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("report -json: %v\n%s", err, r.stdout)
	}
	notes := strings.Join(doc.Notes, "\n")
	if !strings.Contains(notes, "1 asset has no estimate:") {
		t.Errorf("report notes lack %q:\n%s", "1 asset has no estimate:", notes)
	}
	saw(notes)
	r = u.run(t, "report").must(t, 0, "report")
	if want := "Wrote a report of 1 asset of the spec (0 recorded)"; !strings.Contains(r.stdout, want) {
		t.Errorf("report says %q, want %q", r.stdout, want)
	}
	saw(r.stdout)
	page, err := os.ReadFile(filepath.Join(dir, "out", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<span class="s">1 asset unpriced</span>`, `<span class="s">+ 1 unpriced generation</span>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report page lacks %s", want)
		}
	}
	saw(string(page))

	saw(u.run(t, "apply", "-auto-approve").must(t, 0, "apply", "-auto-approve").stdout)
	// Only the apply has used the key's window so far; plan's catalog
	// request makes a second run.
	r = u.run(t, "window").must(t, 0, "window")
	if !strings.Contains(r.stdout, " requests in the last minute, from 1 xpflow run on this machine") {
		t.Errorf("window does not count 1 run:\n%s", r.stdout)
	}
	saw(r.stdout)
	r = u.run(t, "plan").must(t, 0, "plan")
	if want := "No changes. 1 asset is up to date.\n"; r.stdout != want {
		t.Errorf("plan after apply:\n got %q\nwant %q", r.stdout, want)
	}
	saw(r.stdout)
	r = u.run(t, "window").must(t, 0, "window")
	if !strings.Contains(r.stdout, " requests in the last minute, from 2 xpflow runs on this machine") {
		t.Errorf("window does not count 2 runs:\n%s", r.stdout)
	}
	saw(r.stdout)
	r = u.run(t, "report").must(t, 0, "report")
	if want := "Wrote a report of 1 asset of the spec (1 recorded)"; !strings.Contains(r.stdout, want) {
		t.Errorf("report after apply says %q, want %q", r.stdout, want)
	}
	saw(r.stdout)

	// An asset the spec cannot evaluate is counted the same way.
	edit(t, filepath.Join(dir, "quick.xp.hcl"), `prompt = "fine"`, `prompt = file("nope.txt")`)
	r = u.run(t, "report", "-json").must(t, 0, "report", "-json")
	doc.Notes = nil
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("report -json: %v\n%s", err, r.stdout)
	}
	notes = strings.Join(doc.Notes, "\n")
	if !strings.Contains(notes, "The spec cannot evaluate 1 asset;") {
		t.Errorf("report notes lack the asset in error:\n%s", notes)
	}
	saw(notes)
	for _, s := range said {
		if strings.Contains(s, "(s)") {
			t.Errorf("output says (s): %q", s)
		}
	}
}
