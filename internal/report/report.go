package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strconv"

	"github.com/xpflow/xpflow/internal/state"
)

// pageSize is how many cards the page shows at a time. The first page
// is also embedded on its own, so it is drawn before the whole campaign's
// data is read.
const pageSize = 48

//go:embed report.html.tmpl
var pageTemplate string

// pageCSS and pageScript are the page's own style and script, kept in
// their own files so they read (and lint) as CSS and JavaScript.
var (
	//go:embed report.css
	pageCSS string
	//go:embed report.js
	pageScript string
)

// Options say where the page will live, where the state's files are, and
// what else the page should know.
type Options struct {
	// BaseDir is the directory the page will be written to. Media are
	// referenced by paths relative to it, so the page works from file://.
	BaseDir string
	// SpecDir is the directory the state's output file paths are relative
	// to: the spec directory.
	SpecDir string
	// Title heads the page; empty means "xpflow campaign".
	Title string
	// Plan lists every asset instance of the spec, in plan order. With
	// it, assets that have no record get a card that says why, and cards
	// show estimated next to actual cost. Without it the page shows the
	// state's records only.
	Plan []Planned
	// Notes are shown at the top of the page (for example why the plan is
	// missing).
	Notes []string
	// Secrets are replaced with Redacted wherever they would appear: the
	// API key, the values of sensitive variables.
	Secrets []string
}

// Write renders st as a self-contained HTML page to w. Every value from the
// state and the plan is escaped (html/template for markup, encoding/json
// for the data the page's script reads), so prompts and generated text
// cannot inject markup, and every secret is redacted first. Every output
// file is checked against its recorded size and sha256 before the page
// links it. Write fails when st is nil, when a media path cannot be made
// relative to opts.BaseDir, or when w fails.
func Write(w io.Writer, st *state.State, opts Options) error {
	d, err := data(st, opts)
	if err != nil {
		return err
	}
	// encoding/json escapes <, > and & in strings, so the data cannot
	// close the <script> element it is embedded in.
	js, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report: encode the page data: %w", err)
	}
	head := *d
	head.Cards = d.Cards[:min(pageSize, len(d.Cards))]
	headJS, err := json.Marshal(&head)
	if err != nil {
		return fmt.Errorf("report: encode the page data: %w", err)
	}
	p := &page{Title: d.Title, Data: d, Statuses: d.Totals.statusCounts(), JSON: template.JS(js), HeadJSON: template.JS(headJS),
		CSS: template.CSS(pageCSS), Script: template.JS(pageScript),
		TotalsAttrs: d.Totals.attrs(d.HasPlan)}
	top := 0
	for _, m := range d.Models {
		top = max(top, m.ActualCents, m.EstimatedCents)
	}
	funcs := template.FuncMap{"cents": formatCents, "pct": func(c int) string { return percent(c, top) },
		"label": func(s string) string { return statusLabels[s] }, "plural": plural}
	tmpl, err := template.New("report").Funcs(funcs).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report: parse template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("report: write page: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: write page: %w", err)
	}
	return nil
}

// WriteJSON writes the data the page is drawn from as one indented JSON
// object (format_version "1", documented in docs/cli.md): the totals, the
// cost per model and every card, with the same checks and redaction as
// Write. Media paths ("src") are relative to opts.BaseDir.
func WriteJSON(w io.Writer, st *state.State, opts Options) error {
	d, err := data(st, opts)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		FormatVersion string `json:"format_version"`
		*pageData
	}{"1", d}); err != nil {
		return fmt.Errorf("report: write JSON: %w", err)
	}
	return nil
}

// data builds the page's data from st and opts and redacts it.
func data(st *state.State, opts Options) (*pageData, error) {
	if st == nil {
		return nil, fmt.Errorf("report: no state to render")
	}
	base, err := filepath.Abs(defaultDir(opts.BaseDir))
	if err != nil {
		return nil, fmt.Errorf("report: base directory: %w", err)
	}
	spec, err := filepath.Abs(defaultDir(opts.SpecDir))
	if err != nil {
		return nil, fmt.Errorf("report: spec directory: %w", err)
	}
	title := opts.Title
	if title == "" {
		title = "xpflow campaign"
	}
	d, err := buildPage(st, opts.Plan, title, base, spec)
	if err != nil {
		return nil, err
	}
	d.Notes = append(d.Notes, opts.Notes...)
	if redact := newRedactor(opts.Secrets); redact != nil {
		redactAll(d, redact)
	}
	d.Count, d.PageSize, d.Labels = len(d.Cards), pageSize, statusLabels
	return d, nil
}

func defaultDir(d string) string {
	if d == "" {
		return "."
	}
	return d
}

// percent is c as a share of top, for a bar's CSS width.
func percent(c, top int) string {
	if top <= 0 || c <= 0 {
		return "0"
	}
	return strconv.FormatFloat(100*float64(c)/float64(top), 'f', 1, 64)
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
