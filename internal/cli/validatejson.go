package cli

import (
	"encoding/json"
	"flag"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
)

// jsonValidation is the documented 'validate -json' object, shaped like
// terraform validate -json.
type jsonValidation struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Instances     int              `json:"instances"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
}

type jsonDiagnostic struct {
	Severity string     `json:"severity"` // "error" or "warning"
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// validateJSON validates and prints the result as JSON on stdout; it exits
// 1 when the spec is invalid, as plain validate does.
func validateJSON(env *Env, fs *flag.FlagSet, f *specFlags) error {
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	sp, diags := spec.Load(dir, spec.LoadOptions{Vars: f.vars, VarFiles: f.varFiles, Getenv: env.Getenv, Environ: env.Environ})
	out := jsonValidation{FormatVersion: "1", Diagnostics: []jsonDiagnostic{}}
	if !diags.HasErrors() {
		p, more := planner.Build(sp, planner.Options{})
		diags = append(diags, more...)
		if p != nil && !more.HasErrors() {
			out.Instances = len(p.Nodes)
		}
	}
	for _, d := range withoutSyntheticSubjects(diags) {
		jd := jsonDiagnostic{Severity: "warning", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagError {
			jd.Severity = "error"
			out.ErrorCount++
		} else {
			out.WarningCount++
		}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{Filename: r.Filename,
				Start: jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte}, End: jsonPos{r.End.Line, r.End.Column, r.End.Byte}}
		}
		out.Diagnostics = append(out.Diagnostics, jd)
	}
	out.Valid = out.ErrorCount == 0
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	if !out.Valid {
		return silent(ExitError)
	}
	return nil
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
