package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/report"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// runReport writes a self-contained HTML review page of the campaign: the
// state's records and, when DIR holds a spec, every asset of the spec,
// with what the next apply would do and what it would cost. It never
// sends a request to the API: estimates come from the prices the state
// observed, and with -simulate from the built-in simulator's catalog.
func runReport(env *Env, args []string) error {
	flags := newFlags(env, "report", "[DIR]")
	var sf stateFlag
	sf.register(flags)
	var spf specFlags
	spf.register(flags)
	out := flags.String("o", "", "write the page to FILE (default report.html in the spec's output_dir, DIR/out; with -simulate in its simulate/)")
	noSpec := flags.Bool("no-spec", false, "show the state's records only; do not read the spec in DIR")
	asJSON := flags.Bool("json", false, "print the page's data as one JSON object (see docs/cli.md) instead of writing the page")
	if err := parse(flags, args); err != nil {
		return err
	}
	dir, err := oneArg(flags)
	if err != nil {
		return err
	}
	var rp reportPlan
	if !*noSpec {
		rp = planForReport(env, dir, &spf, sf.simulate)
	}
	st, err := reportState(env, dir, &sf, &rp, *noSpec)
	if err != nil {
		return err
	}
	opts := report.Options{SpecDir: dir, Title: reportTitle(dir), Secrets: rp.secrets}
	if k := strings.TrimSpace(env.Getenv(xpilot.EnvAPIKey)); k != "" {
		opts.Secrets = append(opts.Secrets, k)
	}
	if rp.spec != nil {
		opts.Plan, opts.Notes = rp.build(env, st)
	}
	opts.Notes = append(rp.notes, opts.Notes...)
	path := *out
	if path == "" {
		path = defaultReportPath(dir, rp.spec, sf.simulate && sf.path == "")
	}
	opts.BaseDir = filepath.Dir(path)
	if *asJSON {
		if err := report.WriteJSON(env.Stdout, st, opts); err != nil {
			return &ExitErr{Code: ExitError, Err: err}
		}
		return nil
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, st, opts); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if lockDir := reportLockDir(path, dir, rp.spec); lockDir != "" {
		release, err := executor.LockOutputDir(lockDir)
		if err != nil {
			return &ExitErr{Code: ExitError, Err: fmt.Errorf("cannot write the report: %w, or write the page elsewhere with -o FILE", err)}
		}
		defer func() { _ = release() }()
	}
	if err := writeReportFile(path, buf.Bytes()); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	what := plural(len(st.Assets), "recorded asset", "recorded assets")
	if opts.Plan != nil {
		what = fmt.Sprintf("%s of the spec (%d recorded)", plural(len(opts.Plan), "asset", "assets"), len(st.Assets))
	}
	fmt.Fprintf(env.Stdout, "Wrote a report of %s to %s\nOpen file://%s in a browser.\n", what, path, filepath.ToSlash(abs))
	return nil
}

// reportState reads the campaign's state: the spec's Postgres campaign
// when it names one (also under -no-spec, which only leaves the plan off
// the page), else the state file. A missing state file is an error only
// when there is no spec to show either.
func reportState(env *Env, dir string, sf *stateFlag, rp *reportPlan, noSpec bool) (*state.State, error) {
	pgSpec := rp.spec
	if noSpec {
		pgSpec = quietSpec(env, dir)
	}
	if usePostgres(pgSpec, sf.path, sf.simulate) {
		return readState(env, pgSpec, "", false)
	}
	statePath := sf.resolve(dir)
	_, statErr := os.Stat(statePath)
	switch {
	case errors.Is(statErr, fs.ErrNotExist) && rp.spec == nil:
		hint := "run xpflow apply first"
		if !sf.simulate && sf.path == "" {
			hint += ", or add -simulate for the state of simulated runs"
		}
		return nil, &ExitErr{Code: ExitError, Err: fmt.Errorf("no state at %s: %s", statePath, hint)}
	case errors.Is(statErr, fs.ErrNotExist):
		rp.notes = append(rp.notes, "No state at "+statePath+" yet: nothing has been generated.")
	}
	st, err := state.Load(statePath)
	if err != nil {
		return nil, &ExitErr{Code: ExitError, Err: err}
	}
	return st, nil
}

// defaultReportPath is report.html in the spec's output directory, named
// relative to dir when it is inside it (as the user wrote dir), or in
// DIR/out without a spec. The page of simulated runs goes where apply
// -simulate writes its outputs (SimulateSubdir), so it never replaces
// the page of the paid ones.
func defaultReportPath(dir string, sp *spec.Spec, simulate bool) string {
	sub := ""
	if simulate {
		sub = SimulateSubdir
	}
	if sp == nil || sp.Settings.OutputDir == "" {
		return filepath.Join(dir, "out", sub, "report.html")
	}
	rel, err := filepath.Rel(sp.Dir, sp.Settings.OutputDir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.Join(sp.Settings.OutputDir, sub, "report.html")
	}
	return filepath.Join(dir, rel, sub, "report.html")
}

// reportLockDir is the output directory whose lock guards the page at
// path: the spec's output_dir (DIR/out without a spec), or its simulate/
// subdirectory, whichever holds path; "" when the page goes elsewhere.
// An apply writing that directory holds the lock, so the report never
// writes beside outputs being downloaded (issue 13).
func reportLockDir(path, dir string, sp *spec.Spec) string {
	out := filepath.Join(dir, "out")
	if sp != nil && sp.Settings.OutputDir != "" {
		out = sp.Settings.OutputDir
	}
	page := resolved(filepath.Dir(path))
	for _, cand := range []string{filepath.Join(out, SimulateSubdir), out} {
		rel, err := filepath.Rel(resolved(cand), page)
		switch {
		case err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)):
		case rel == ".":
			return filepath.Dir(path) // as the user spelled it, for the message
		default:
			return cand
		}
	}
	return ""
}

// resolved is p made absolute with its symbolic links resolved, as far as
// it exists, so two spellings of one directory compare equal.
func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	var rest []string
	for cur := abs; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		if filepath.Dir(cur) == cur {
			return abs
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
	}
}

// reportPlan is the spec side of a report: the loaded spec, the catalog
// when one is at hand, the secrets to redact and notes for the page.
type reportPlan struct {
	spec    *spec.Spec
	catalog *xpilot.Catalog
	secrets []string
	notes   []string
}

// planForReport loads the spec in dir. A directory without a spec, or a
// spec with errors, is not fatal: the page then shows the state's records
// and says why. With simulate, the catalog comes from an in-process
// simulator, which costs nothing and sends nothing over the network.
func planForReport(env *Env, dir string, f *specFlags, simulate bool) reportPlan {
	var rp reportPlan
	// The same options as loadSpec: the key is redacted where the spec
	// reads files, and -allow-outside-files is honoured.
	var keys []string
	if env.Getenv != nil {
		keys = []string{strings.TrimSpace(env.Getenv(xpilot.EnvAPIKey))}
	}
	sp, diags := spec.Load(dir, spec.LoadOptions{Vars: f.vars, VarFiles: f.varFiles, Getenv: env.Getenv,
		Environ: env.Environ, AllowOutsideFiles: f.allowOutside, Secrets: keys})
	if sp != nil {
		rp.secrets = sensitiveStrings(sp)
	}
	if diags.HasErrors() {
		if noSpecFiles(diags) {
			rp.notes = append(rp.notes, "No spec in "+dir+": the page shows the state's records only.")
			return rp
		}
		writeDiags(env, sp, diags)
		rp.notes = append(rp.notes, "The spec has errors (run xpflow validate): the page shows the state's records only.")
		return rp
	}
	rp.spec = sp
	if simulate {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := connect(env, sp, true, ""); err == nil {
			rp.catalog, _ = c.client.Models(ctx)
			c.Close()
		}
	}
	return rp
}

// build plans the spec against st without the API and converts the plan
// for the page. Diagnostics are printed; they do not stop the report.
func (rp *reportPlan) build(env *Env, st *state.State) ([]report.Planned, []string) {
	p, diags := planner.Build(rp.spec, planner.Options{State: st, Catalog: rp.catalog})
	if len(diags) > 0 {
		writeDiags(env, rp.spec, diags)
	}
	if p == nil {
		return nil, []string{"The spec could not be planned (run xpflow validate): the page shows the state's records only."}
	}
	out := make([]report.Planned, 0, len(p.Nodes))
	unpriced := 0
	for _, n := range p.Nodes {
		pl := report.Planned{Address: n.Addr, Kind: string(n.Kind), Model: n.Model, Action: string(n.Action),
			Reason: n.Reason, Deps: n.Deps, EstimatedCents: n.Cost.Cents, Priced: n.Cost.Priced, Observed: n.Cost.Observed}
		for _, c := range n.Changes {
			pl.Changes = append(pl.Changes, c.Param+": "+c.Old+" → "+c.New)
		}
		if n.Action == "" {
			pl.Error = nodeError(rp.spec, n, diags)
		}
		pl.Prompt, pl.System, pl.Params = planParams(n.Params)
		if !n.Cost.Priced {
			unpriced++
		}
		out = append(out, pl)
	}
	var notes []string
	if bad := errored(out); bad > 0 {
		notes = append(notes, fmt.Sprintf("The spec cannot evaluate %s; their cards quote why (run xpflow validate).", plural(bad, "asset", "assets")))
	}
	if unpriced > 0 && rp.catalog == nil {
		notes = append(notes, fmt.Sprintf("%s no estimate: the report never calls the API, so its estimates are the prices this state observed, and their models were never charged here; xpflow plan prices them from the catalog.", plural(unpriced, "asset has", "assets have")))
	}
	return out, notes
}

// errored counts the planned assets the spec could not evaluate.
func errored(pl []report.Planned) int {
	n := 0
	for _, p := range pl {
		if p.Action == "" {
			n++
		}
	}
	return n
}

// nodeError is the first error diagnostic about node n: one whose detail
// names the instance or its block, else one whose source range lies in the
// node's block (after its header, before the next block of the file).
func nodeError(sp *spec.Spec, n *planner.Node, diags hcl.Diagnostics) string {
	a := n.Instance.Asset
	start, end := a.DeclRange.Start.Byte, -1
	for _, o := range sp.Assets {
		b := o.DeclRange.Start.Byte
		if o.DeclRange.Filename == a.DeclRange.Filename && b > start && (end < 0 || b < end) {
			end = b
		}
	}
	inBlock := func(d *hcl.Diagnostic) bool {
		return d.Subject != nil && d.Subject.Filename == a.DeclRange.Filename &&
			d.Subject.Start.Byte >= start && (end < 0 || d.Subject.Start.Byte < end)
	}
	for _, match := range []func(*hcl.Diagnostic) bool{
		func(d *hcl.Diagnostic) bool { return strings.Contains(d.Detail, n.Addr) },
		func(d *hcl.Diagnostic) bool { return strings.Contains(d.Detail, a.Addr()) },
		inBlock,
	} {
		for _, d := range diags {
			if d.Severity == hcl.DiagError && match(d) {
				return diagText(d)
			}
		}
	}
	return ""
}

func diagText(d *hcl.Diagnostic) string {
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	if d.Subject != nil {
		msg += fmt.Sprintf(" (%s:%d)", filepath.Base(d.Subject.Filename), d.Subject.Start.Line)
	}
	return msg
}

// planParams renders a node's evaluated parameters for the page: the
// prompt and system prompt apart, the model left out (the card shows it).
func planParams(params map[string]cty.Value) (prompt, system string, other map[string]string) {
	other = map[string]string{}
	for k, v := range params {
		if v == cty.NilVal || v.IsNull() || k == "model" {
			continue
		}
		s := "(known after apply)"
		if v.IsWhollyKnown() {
			v, _ = v.UnmarkDeep()
			if v.Type() == cty.String {
				s = v.AsString()
			} else if b, err := ctyjson.Marshal(v, v.Type()); err == nil {
				s = string(b)
			}
		}
		switch k {
		case "prompt":
			prompt = s
		case "system":
			system = s
		default:
			other[k] = s
		}
	}
	return prompt, system, other
}

// sensitiveStrings lists the values of the spec's sensitive variables.
func sensitiveStrings(sp *spec.Spec) []string {
	var out []string
	for _, v := range sp.Variables {
		if v.Sensitive && v.Value != cty.NilVal {
			out = append(out, stringsIn(v.Value)...)
		}
	}
	return out
}

// noSpecFiles reports whether diags say only that the directory has no
// spec files.
func noSpecFiles(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && !strings.Contains(d.Detail, "contains no *"+spec.FileSuffix+" files") {
			return false
		}
	}
	return true
}

// writeDiags prints diagnostics without failing the command.
func writeDiags(env *Env, sp *spec.Spec, diags hcl.Diagnostics) {
	_ = printDiags(env, sp, diags)
}

// reportTitle names the page after the spec directory.
func reportTitle(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil || filepath.Base(abs) == string(filepath.Separator) {
		return ""
	}
	return filepath.Base(abs)
}

// writeReportFile creates path's directory and writes the page there
// atomically, so a reader never sees half a page.
func writeReportFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the report directory: %w", err)
	}
	if err := state.WriteFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}
