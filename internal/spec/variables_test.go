package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

const varsSpec = `
variable "s" { default = "default" }
variable "n" {
  type    = number
  default = 1
}
variable "m" {
  type    = map(string)
  default = {}
}
variable "req" { type = string } # string: raw value, never parsed
text "a" { prompt = "${var.s} ${var.n} ${var.req}" }
`

func TestVariablePrecedence(t *testing.T) {
	tests := map[string]struct {
		autoFile string // xpflow.vars.hcl; "" for none
		varFile  string // one -var-file; "" for none
		env      map[string]string
		vars     []string
		want     map[string]cty.Value
	}{
		"defaults and -var for the required one": {
			vars: []string{"req=r"},
			want: map[string]cty.Value{"s": cty.StringVal("default"), "n": cty.NumberIntVal(1), "req": cty.StringVal("r")},
		},
		"env parses literals of the right type": {
			env:  map[string]string{"XPFLOW_VAR_n": "42", "XPFLOW_VAR_req": `"env"`, "XPFLOW_VAR_m": `{ a = "b" }`, "XPFLOW_VAR_s": `"quoted"`},
			want: map[string]cty.Value{"s": cty.StringVal("quoted"), "n": cty.NumberIntVal(42), "req": cty.StringVal(`"env"`), "m": cty.MapVal(map[string]cty.Value{"a": cty.StringVal("b")})},
		},
		"auto file beats env": {
			env:      map[string]string{"XPFLOW_VAR_s": "env", "XPFLOW_VAR_req": "env"},
			autoFile: `s = "auto"`,
			want:     map[string]cty.Value{"s": cty.StringVal("auto"), "req": cty.StringVal("env")},
		},
		"var file beats auto file, -var beats var file, later -var wins": {
			autoFile: `s = "auto"
n = 2`,
			varFile: `s = "file"
req = "file"`,
			vars: []string{"s=cli1", "s=cli2", "n=7"},
			want: map[string]cty.Value{"s": cty.StringVal("cli2"), "n": cty.NumberIntVal(7), "req": cty.StringVal("file")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"main.xp.hcl": varsSpec}
			if tc.autoFile != "" {
				files[VarsFileName] = tc.autoFile
			}
			dir := writeSpec(t, files)
			opts := LoadOptions{Vars: tc.vars}
			if tc.varFile != "" {
				p := filepath.Join(t.TempDir(), "x.hcl")
				if err := os.WriteFile(p, []byte(tc.varFile), 0o644); err != nil {
					t.Fatal(err)
				}
				opts.VarFiles = []string{p}
			}
			if tc.env != nil {
				opts.Getenv = func(k string) string { return tc.env[k] }
				for k, v := range tc.env {
					opts.Environ = append(opts.Environ, k+"="+v)
				}
			}
			s, diags := Load(dir, opts)
			if diags.HasErrors() {
				t.Fatalf("Load: %s", diags)
			}
			got := map[string]cty.Value{}
			for name := range tc.want {
				got[name] = s.Variables[name].Value
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) })); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	tests := map[string]struct {
		vars        []string
		varFile     string
		wantSummary string
		wantFile    string // Subject.Filename
	}{
		"-var without =":        {vars: []string{"req"}, wantSummary: "Invalid -var option", wantFile: "-var"},
		"-var undeclared":       {vars: []string{"req=x", "nope=1"}, wantSummary: "Undeclared variable", wantFile: "-var"},
		"-var does not convert": {vars: []string{"req=x", "n=lots"}, wantSummary: "Invalid value for variable", wantFile: "-var"},
		"missing required":      {wantSummary: "No value for required variable", wantFile: "main.xp.hcl"},
		"var file undeclared":   {vars: []string{"req=x"}, varFile: `sss = 1`, wantSummary: "Undeclared variable", wantFile: "x.hcl"},
		"var file bad type":     {vars: []string{"req=x"}, varFile: `m = "str"`, wantSummary: "Invalid value for variable", wantFile: "x.hcl"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeSpec(t, map[string]string{"main.xp.hcl": varsSpec})
			opts := LoadOptions{Vars: tc.vars}
			if tc.varFile != "" {
				p := filepath.Join(t.TempDir(), "x.hcl")
				if err := os.WriteFile(p, []byte(tc.varFile), 0o644); err != nil {
					t.Fatal(err)
				}
				opts.VarFiles = []string{p}
			}
			_, diags := Load(dir, opts)
			for _, d := range diags {
				if d.Summary == tc.wantSummary && d.Subject != nil && filepath.Base(d.Subject.Filename) == tc.wantFile {
					return
				}
			}
			t.Errorf("got %q, want %q in %s", summaries(diags), tc.wantSummary, tc.wantFile)
		})
	}
}

func TestVarFileMissing(t *testing.T) {
	dir := writeSpec(t, map[string]string{"main.xp.hcl": varsSpec})
	_, diags := Load(dir, LoadOptions{Vars: []string{"req=x"}, VarFiles: []string{filepath.Join(dir, "absent.hcl")}})
	assertDiag(t, diags, "Cannot read variables file", "absent.hcl")
}
