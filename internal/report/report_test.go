package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/state"
)

// fixtureState is a hand-written state with every status, a hostile prompt,
// a file name that needs escaping, a missing download and a dependency on
// an asset not in the state. Its two downloaded files are in
// testdata/report/out, with their recorded sha256.
const fixtureState = "../../testdata/report/state.json"

// fixtureDir is the spec directory the fixture's file paths are relative to.
const fixtureDir = "../../testdata/report"

// render writes st with opts and returns the page and the data its script
// reads.
func render(t *testing.T, st *state.State, opts Options) (string, *pageData) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, st, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	page := buf.String()
	return page, pageJSON(t, page)
}

var dataRE = regexp.MustCompile(`(?s)<script type="application/json" id="xp-data">(.*?)</script>`)

// pageJSON decodes the data embedded in a page.
func pageJSON(t *testing.T, page string) *pageData {
	t.Helper()
	m := dataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no xp-data script")
	}
	var d pageData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("decode page data: %v", err)
	}
	return &d
}

func loadFixture(t *testing.T) *state.State {
	t.Helper()
	st, err := state.Load(fixtureState)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// renderFixture renders the fixture as if the page lived in DIR/out.
func renderFixture(t *testing.T) (string, *pageData) {
	t.Helper()
	return render(t, loadFixture(t), Options{BaseDir: filepath.Join(fixtureDir, "out"), SpecDir: fixtureDir, Title: "fixture <campaign>"})
}

// cardSummary is what a test reads back from one card.
type cardSummary struct {
	ID, Status, Reason, Next string
	Cost                     string
	Files                    []string // check:src or check:path
	Uses, UsedBy             []string // #id, or missing:address
}

func summarize(d *pageData) map[string]cardSummary {
	out := map[string]cardSummary{}
	for _, c := range d.Cards {
		s := cardSummary{ID: c.ID, Status: c.Status, Reason: c.Reason, Next: c.Next}
		if c.ActualCents != nil {
			s.Cost = strconv.Itoa(*c.ActualCents)
		}
		if c.EstimatedCents != nil {
			s.Cost += "/est " + strconv.Itoa(*c.EstimatedCents) + " " + c.PriceSource
		}
		for _, f := range c.Files {
			where := f.Src
			if where == "" {
				where = f.Path + f.URL
			}
			s.Files = append(s.Files, f.Check+":"+where)
		}
		s.Uses, s.UsedBy = links(c.Uses), links(c.UsedBy)
		out[c.Address] = s
	}
	return out
}

func links(ls []link) []string {
	var out []string
	for _, l := range ls {
		if l.ID != "" {
			out = append(out, "#"+l.ID)
		} else {
			out = append(out, "missing:"+l.Address)
		}
	}
	return out
}

func TestWriteCards(t *testing.T) {
	_, d := renderFixture(t)
	want := map[string]cardSummary{
		`text.hook["a"]`: {ID: "asset-text-hook-a", Status: "completed", Cost: "1",
			UsedBy: []string{"#asset-image-hero-a"}},
		`image.hero["a"]`: {ID: "asset-image-hero-a", Status: "completed", Cost: "5",
			Files: []string{"ok:./image.hero/a%20b%231.png"},
			Uses:  []string{"#asset-text-hook-a"}, UsedBy: []string{"#asset-video-spot-a"}},
		`video.spot["a"]`: {ID: "asset-video-spot-a", Status: "completed", Cost: "480",
			Files: []string{"ok:./video.spot/a.mp4"}, Uses: []string{"#asset-image-hero-a"}},
		`image.hero["b"]`: {ID: "asset-image-hero-b", Status: "completed", Cost: "5",
			Files: []string{"not-downloaded:https://cdn.example/2.png"},
			Uses:  []string{"missing:text.gone"}, UsedBy: []string{"#asset-video-spot-b"}},
		`image.hero["c"]`: {ID: "asset-image-hero-c", Status: "submitted",
			Reason: "task img_c is paid for and running: run apply again to collect it"},
		`image.hero["d"]`: {ID: "asset-image-hero-d", Status: "pending",
			Reason: "the generate request may have been sent and charged, but its answer was never recorded"},
		`video.spot["b"]`: {ID: "asset-video-spot-b", Status: "failed", Uses: []string{"#asset-image-hero-b"},
			Reason: "generation failed: content policy <violation>"},
		`video.spot["c"]`: {ID: "asset-video-spot-c", Status: "skipped",
			Reason: "insufficient credits: balance 12 cents, need 480"},
	}
	if diff := cmp.Diff(want, summarize(d)); diff != "" {
		t.Errorf("cards (-want +got):\n%s", diff)
	}
}

var totalsRE = regexp.MustCompile(`<section id="totals"[^>]*>`)
var dataAttrRE = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)

// parseTotals reads the data attributes of #totals.
func parseTotals(page string) map[string]string {
	out := map[string]string{}
	for _, m := range dataAttrRE.FindAllStringSubmatch(totalsRE.FindString(page), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func TestWriteTotals(t *testing.T) {
	page, _ := renderFixture(t)
	want := map[string]string{"assets": "8", "completed": "4", "submitted": "1", "pending": "1",
		"skipped": "1", "failed": "1", "actual-cents": "491", "balance-cents": "12",
		"files-ok": "2", "files-not-downloaded": "1"}
	if diff := cmp.Diff(want, parseTotals(page)); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

func TestWriteEscapesAndContent(t *testing.T) {
	page, _ := renderFixture(t)
	tests := map[string]struct {
		substr string
		want   bool
	}{
		"hostile prompt escaped in the data": {`\u003cscript\u003ealert('pwned')\u003c/script\u003e hero shot`, true},
		"hostile prompt not raw":             {`<script>alert(`, false},
		"title escaped":                      {`<h1>fixture &lt;campaign&gt;</h1>`, true},
		"title not raw":                      {`fixture <campaign>`, false},
		"text content escaped":               {`Quiet is the new \u003cb\u003eloud\u003c/b\u003e \u0026 \"bold\".`, true},
		"text content not raw":               {`<b>loud</b>`, false},
		"images load lazily":                 {`img.loading = "lazy"`, true},
		"videos preload metadata only":       {`v.setAttribute("preload", "metadata")`, true},
		"balance":                            {`<span class="n">$0.12</span><span class="l">balance</span>`, true},
		"spent":                              {`<span class="n">$4.91</span><span class="l">spent</span>`, true},
		"no estimate without a plan":         {`<span class="l">estimated</span>`, false},
		"no base64 media":                    {`base64`, false},
		"no remote stylesheet":               {`<link`, false},
		"no http resource":                   {`src="http`, false},
		"noscript says what to do":           {`<noscript><p class="empty">This page draws its 8 cards with JavaScript.`, true},
		"first page drawn from a small head": {`<script type="application/json" id="xp-head">{`, true},
		"cost bar per model":                 {`data-model="seedance-2.0/image-to-video" data-actual-cents="480"`, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := strings.Contains(page, tc.substr); got != tc.want {
				t.Errorf("page contains %q: got %v, want %v", tc.substr, got, tc.want)
			}
		})
	}
	if got, want := strings.Count(page, "<script"), 3; got != want {
		t.Errorf("<script elements: got %d, want %d (the first page, the page's own, all the data)", got, want)
	}
}

// TestWriteDataCannotCloseScript puts </script> and a comment opener in
// every kind of string the data carries: the embedded JSON must not end
// early.
func TestWriteDataCannotCloseScript(t *testing.T) {
	st := state.New()
	hostile := `</script><script>alert(1)</script><!--`
	st.Assets["text.x"] = &state.Asset{Address: "text.x", Kind: "text", Status: state.StatusCompleted,
		Content: hostile, Error: hostile, Request: map[string]any{"prompt": hostile, "system": hostile, hostile: hostile}}
	page, d := render(t, st, Options{Title: hostile})
	if strings.Contains(page, "</script><script>alert") || strings.Contains(page, "<!--") {
		t.Errorf("page holds the hostile string raw")
	}
	if got := d.Cards[0].Content; got != hostile {
		t.Errorf("content after a round trip: got %q, want %q", got, hostile)
	}
}

// TestWriteGroupOrder checks that cards come in dependency order: text
// before image before video.
func TestWriteGroupOrder(t *testing.T) {
	_, d := renderFixture(t)
	var got []string
	for _, c := range d.Cards {
		if len(got) == 0 || got[len(got)-1] != c.Block {
			got = append(got, c.Block)
		}
	}
	want := []string{"text.hook", "image.hero", "video.spot"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("block order (-want +got):\n%s", diff)
	}
}

// TestWriteGolden compares the whole page with a golden file;
// UPDATE_GOLDEN=1 rewrites it.
func TestWriteGolden(t *testing.T) {
	got, _ := renderFixture(t)
	golden := "../../testdata/report/fixture.golden.html"
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with UPDATE_GOLDEN=1 to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("page (-want +got), UPDATE_GOLDEN=1 to accept:\n%s", diff)
	}
}

func TestWriteEmptyState(t *testing.T) {
	page, d := render(t, state.New(), Options{})
	want := map[string]string{"assets": "0", "actual-cents": "0"}
	if diff := cmp.Diff(want, parseTotals(page)); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if len(d.Cards) != 0 {
		t.Errorf("cards: got %d, want none", len(d.Cards))
	}
	if !strings.Contains(page, "The state records no assets yet.") {
		t.Errorf("empty page: got no empty-state message, want one")
	}
	if !strings.Contains(page, "<title>xpflow campaign · xpflow report</title>") {
		t.Errorf("empty page: got no default title, want %q", "xpflow campaign")
	}
}

func TestWriteNilState(t *testing.T) {
	if err := Write(&bytes.Buffer{}, nil, Options{}); err == nil {
		t.Errorf("Write(nil state): got nil error, want one")
	}
}

func TestRelativeSrc(t *testing.T) {
	tests := map[string]struct {
		base, spec, file string
		want             string
	}{
		"page in output dir":   {"/s/out", "/s", "out/image.hero/a.png", "./image.hero/a.png"},
		"page in spec dir":     {"/s", "/s", "out/a.png", "./out/a.png"},
		"page elsewhere":       {"/tmp/r", "/s", "out/a.png", "../../s/out/a.png"},
		"absolute file":        {"/s/out", "/s", "/data/a.png", "../../data/a.png"},
		"space and hash":       {"/s", "/s", "out/a b#1.png", "./out/a%20b%231.png"},
		"query and percent":    {"/s", "/s", "out/a?b%c.png", "./out/a%3Fb%25c.png"},
		"colon is no scheme":   {"/s", "/s", "javascript:alert(1).png", "./javascript:alert%281%29.png"},
		"unicode kept escaped": {"/s", "/s", "out/é.png", "./out/%C3%A9.png"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := relativeSrc(filepath.FromSlash(tc.base), filepath.FromSlash(tc.spec), tc.file)
			if err != nil {
				t.Fatalf("relativeSrc: %v", err)
			}
			if got != tc.want {
				t.Errorf("relativeSrc(%q, %q, %q): got %q, want %q", tc.base, tc.spec, tc.file, got, tc.want)
			}
		})
	}
}

func TestAnchorIDs(t *testing.T) {
	addrs := []string{`image.hero["a b"]`, `image.hero["a-b"]`, `text.x`, `video.v["ünï"]`}
	got := anchorIDs(addrs)
	want := map[string]string{
		`image.hero["a b"]`: "asset-image-hero-a-b",
		`image.hero["a-b"]`: "asset-image-hero-a-b-2",
		`text.x`:            "asset-text-x",
		`video.v["ünï"]`:    "asset-video-v-n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("anchorIDs (-want +got):\n%s", diff)
	}
}

func TestMediaType(t *testing.T) {
	tests := map[string]struct {
		file, kind, want string
	}{
		"png":               {"out/a.png", "image", "image"},
		"upper JPG":         {"out/a.JPG", "image", "image"},
		"mp4":               {"out/a.mp4", "video", "video"},
		"webm":              {"out/a.webm", "video", "video"},
		"no ext image kind": {"out/a", "image", "image"},
		"no ext text kind":  {"out/a", "text", "file"},
		"other ext":         {"out/a.bin", "video", "file"},
		"url with query":    {"https://cdn.example/a.mp4?sig=1", "video", "video"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := mediaType(tc.file, tc.kind); got != tc.want {
				t.Errorf("mediaType(%q, %q): got %q, want %q", tc.file, tc.kind, got, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := map[string]struct{ got, want string }{
		"cents":          {formatCents(1458), "$14.58"},
		"negative cents": {formatCents(-5), "-$0.05"},
		"bytes":          {formatBytes(512), "512 B"},
		"kib":            {formatBytes(3512), "3.4 KiB"},
		"mib":            {formatBytes(3 << 20), "3.0 MiB"},
		"no bytes":       {formatBytes(0), ""},
		"percent":        {percent(1, 3), "33.3"},
		"percent of 0":   {percent(5, 0), "0"},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", name, tc.got, tc.want)
		}
	}
}

// TestExpiredOutputCardSaysOnlyReplaceGetsIt: the card of an output whose
// link expired before its download said "run apply again to fetch it",
// which cannot work; it must say what can.
func TestExpiredOutputCardSaysOnlyReplaceGetsIt(t *testing.T) {
	b := &builder{specDir: t.TempDir()}
	for _, tc := range []struct {
		out  state.Output
		want string
	}{
		{state.Output{URL: "https://cdn/x.png"}, "run apply again to fetch it"},
		{state.Output{URL: "https://cdn/x.png", Expired: true}, "only -replace"},
	} {
		files, err := b.files("image.hero", "image", []state.Output{tc.out})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files[0].Check != fileNotDownloaded || !strings.Contains(files[0].Why, tc.want) {
			t.Errorf("output %+v: files %+v, want not downloaded, saying %q", tc.out, files, tc.want)
		}
	}
}
