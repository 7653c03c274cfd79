package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"

	"github.com/xpflow/xpflow/internal/state"
)

//go:embed report.html.tmpl
var pageTemplate string

// Options say where the page will live and where the state's files are.
type Options struct {
	// BaseDir is the directory the page will be written to. Media are
	// referenced by paths relative to it, so the page works from file://.
	BaseDir string
	// SpecDir is the directory the state's output file paths are relative
	// to: the spec directory.
	SpecDir string
	// Title heads the page; empty means "xpflow campaign".
	Title string
}

// Write renders st as a self-contained HTML page to w. Every value from the
// state is escaped by html/template, so prompts and generated text cannot
// inject markup. It fails when st is nil, when a media path cannot be made
// relative to opts.BaseDir, or when w fails.
func Write(w io.Writer, st *state.State, opts Options) error {
	if st == nil {
		return fmt.Errorf("report: no state to render")
	}
	base, err := filepath.Abs(defaultDir(opts.BaseDir))
	if err != nil {
		return fmt.Errorf("report: base directory: %w", err)
	}
	spec, err := filepath.Abs(defaultDir(opts.SpecDir))
	if err != nil {
		return fmt.Errorf("report: spec directory: %w", err)
	}
	title := opts.Title
	if title == "" {
		title = "xpflow campaign"
	}
	p, err := buildPage(st, title, base, spec)
	if err != nil {
		return err
	}
	tmpl, err := template.New("report").Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report: parse template: %w", err)
	}
	if err := tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("report: write page: %w", err)
	}
	return nil
}

func defaultDir(d string) string {
	if d == "" {
		return "."
	}
	return d
}
