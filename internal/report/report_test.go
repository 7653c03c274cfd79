package report

import (
	"bytes"
	"html"
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
// an asset not in the state.
const fixtureState = "../../testdata/report/state.json"

// renderFixture renders the fixture as if the page lived in spec/out and
// the state's files were relative to spec.
func renderFixture(t *testing.T) string {
	t.Helper()
	st, err := state.Load(fixtureState)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	opts := Options{BaseDir: "/spec/out", SpecDir: "/spec", Title: "fixture <campaign>"}
	if err := Write(&buf, st, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.String()
}

// cardSummary is what a test reads back from one rendered card.
type cardSummary struct {
	ID, Status, Cost string
	Media            []string
	Uses, UsedBy     []string
	Reason           string
}

var (
	cardRE     = regexp.MustCompile(`(?s)<article class="card [^"]*" id="([^"]*)" data-address="([^"]*)" data-status="([^"]*)"(?: data-cost-cents="(\d+)")?>(.*?)</article>`)
	mediaRE    = regexp.MustCompile(`<(?:img|video) class="media" src="([^"]*)"`)
	usesRE     = regexp.MustCompile(`(?s)<div class="links upstream">(.*?)</div>`)
	usedByRE   = regexp.MustCompile(`(?s)<div class="links downstream">(.*?)</div>`)
	anchorRE   = regexp.MustCompile(`<a href="#([^"]*)"|<span class="chip mono" title="not in the state">([^<]*)</span>`)
	reasonRE   = regexp.MustCompile(`(?s)<div class="reason (?:completed|submitted|pending|skipped|failed)" role="note"><strong>[^<]*</strong> (.*?)</div>`)
	totalsRE   = regexp.MustCompile(`<section id="totals"[^>]*>`)
	dataAttrRE = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)
)

// parseCards reads every card of a page, by address.
func parseCards(page string) map[string]cardSummary {
	out := map[string]cardSummary{}
	for _, m := range cardRE.FindAllStringSubmatch(page, -1) {
		c := cardSummary{ID: m[1], Status: m[3], Cost: m[4]}
		body := m[5]
		for _, mm := range mediaRE.FindAllStringSubmatch(body, -1) {
			c.Media = append(c.Media, html.UnescapeString(mm[1]))
		}
		c.Uses = links(usesRE, body)
		c.UsedBy = links(usedByRE, body)
		if r := reasonRE.FindStringSubmatch(body); r != nil {
			c.Reason = html.UnescapeString(r[1])
		}
		out[html.UnescapeString(m[2])] = c
	}
	return out
}

func links(re *regexp.Regexp, body string) []string {
	m := re.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out []string
	for _, a := range anchorRE.FindAllStringSubmatch(m[1], -1) {
		if a[1] != "" {
			out = append(out, "#"+a[1])
		} else {
			out = append(out, "missing:"+html.UnescapeString(a[2]))
		}
	}
	return out
}

// parseTotals reads the data attributes of #totals.
func parseTotals(page string) map[string]string {
	tag := totalsRE.FindString(page)
	out := map[string]string{}
	for _, m := range dataAttrRE.FindAllStringSubmatch(tag, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func TestWriteCards(t *testing.T) {
	got := parseCards(renderFixture(t))
	want := map[string]cardSummary{
		`text.hook["a"]`: {ID: "asset-text-hook-a", Status: "completed", Cost: "1",
			UsedBy: []string{"#asset-image-hero-a"}},
		`image.hero["a"]`: {ID: "asset-image-hero-a", Status: "completed", Cost: "5",
			Media: []string{"./image.hero/a%20b%231.png"},
			Uses:  []string{"#asset-text-hook-a"}, UsedBy: []string{"#asset-video-spot-a"}},
		`video.spot["a"]`: {ID: "asset-video-spot-a", Status: "completed", Cost: "480",
			Media: []string{"./video.spot/a.mp4#t=0.1"}, Uses: []string{"#asset-image-hero-a"}},
		`image.hero["b"]`: {ID: "asset-image-hero-b", Status: "completed", Cost: "5",
			Uses: []string{"missing:text.gone"}, UsedBy: []string{"#asset-video-spot-b"}},
		`image.hero["c"]`: {ID: "asset-image-hero-c", Status: "submitted",
			Reason: "still generating (task img_c): run apply again to collect it"},
		`image.hero["d"]`: {ID: "asset-image-hero-d", Status: "pending",
			Reason: "outcome unknown: the request may have been sent; run apply again to settle it"},
		`video.spot["b"]`: {ID: "asset-video-spot-b", Status: "failed", Uses: []string{"#asset-image-hero-b"},
			Reason: "generation failed: content policy <violation>"},
		`video.spot["c"]`: {ID: "asset-video-spot-c", Status: "skipped",
			Reason: "insufficient credits: balance 12 cents, need 480"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cards (-want +got):\n%s", diff)
	}
}

func TestWriteTotals(t *testing.T) {
	got := parseTotals(renderFixture(t))
	want := map[string]string{"assets": "8", "completed": "4", "submitted": "1", "pending": "1",
		"skipped": "1", "failed": "1", "cost-cents": "491", "balance-cents": "12"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

func TestWriteEscapesAndContent(t *testing.T) {
	page := renderFixture(t)
	tests := map[string]struct {
		substr string
		want   bool
	}{
		"hostile prompt escaped":     {`&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; hero shot`, true},
		"hostile prompt not raw":     {`<script>alert(`, false},
		"title escaped":              {`<h1>fixture &lt;campaign&gt;</h1>`, true},
		"title not raw":              {`fixture <campaign>`, false},
		"text content escaped":       {`Quiet is the new &lt;b&gt;loud&lt;/b&gt; &amp; &#34;bold&#34;.`, true},
		"text content not raw":       {`<b>loud</b>`, false},
		"system prompt shown":        {`<p class="system">No hashtags.</p>`, true},
		"params shown":               {`<dt>max_tokens</dt><dd>40</dd>`, true},
		"bool param as JSON":         {`<dt>generate_audio</dt><dd>true</dd>`, true},
		"output URL links its card":  {`<dt>image_url</dt><dd><a href="#asset-image-hero-a" class="mono" title="https://cdn.example/1.png">output of image.hero[&#34;a&#34;]</a></dd>`, true},
		"missing download explained": {`<strong>Not downloaded yet</strong> (run apply again):<br><span class="mono">https://cdn.example/2.png</span>`, true},
		"placeholder for no file":    {`<span>no image downloaded yet</span>`, true},
		"placeholder for failed":     {`<span>no video (failed)</span>`, true},
		"failed reason marked":       {`<div class="reason failed" role="note"><strong>Failed:</strong>`, true},
		"skipped reason marked":      {`<div class="reason skipped" role="note"><strong>Skipped:</strong>`, true},
		"text block first":           {`id="block-text.hook"`, true},
		"no base64 media":            {`base64`, false},
		"no remote stylesheet":       {`<link`, false},
		"no http resource":           {`src="http`, false},
		"took":                       {`<dt>took</dt><dd>1.5s</dd>`, true},
		"usage":                      {`12 prompt &#43; 9 completion tokens`, true},
		"file size":                  {`a b#1.png</a> · 2.0 KiB`, true},
		"balance":                    {`<span class="n">$0.12</span><span class="l">balance</span>`, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := strings.Contains(page, tc.substr); got != tc.want {
				t.Errorf("page contains %q: got %v, want %v", tc.substr, got, tc.want)
			}
		})
	}
	if got, want := strings.Count(page, "<script"), 1; got != want {
		t.Errorf("<script elements: got %d, want %d (only the page's own)", got, want)
	}
}

// TestWriteGroupOrder checks that blocks come in dependency order: text
// before image before video.
func TestWriteGroupOrder(t *testing.T) {
	page := renderFixture(t)
	var got []string
	for _, m := range regexp.MustCompile(`<section class="group" id="block-([^"]*)">`).FindAllStringSubmatch(page, -1) {
		got = append(got, m[1])
	}
	want := []string{"text.hook", "image.hero", "video.spot"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("group order (-want +got):\n%s", diff)
	}
}

// TestWriteGolden compares the whole page with a golden file;
// UPDATE_GOLDEN=1 rewrites it.
func TestWriteGolden(t *testing.T) {
	got := renderFixture(t)
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
	var buf bytes.Buffer
	if err := Write(&buf, state.New(), Options{}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	page := buf.String()
	got := parseTotals(page)
	want := map[string]string{"assets": "0", "completed": "0", "submitted": "0", "pending": "0",
		"skipped": "0", "failed": "0", "cost-cents": "0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
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
		"count":          {strconv.Itoa(len(statusOrder())), "5"},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", name, tc.got, tc.want)
		}
	}
}
