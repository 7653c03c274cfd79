package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix prefixes environment variables that set spec variables.
const EnvVarPrefix = "XPFLOW_VAR_"

// varValue is a candidate value for a variable and where it came from.
type varValue struct {
	val cty.Value
	rng hcl.Range
}

// resolveVariables sets every variable's Value from, later wins: its default,
// XPFLOW_VAR_ env vars, xpflow.vars.hcl, -var-file files and -var options.
func (s *Spec) resolveVariables(dir string, opts LoadOptions) hcl.Diagnostics {
	set := map[string]varValue{}
	diags := s.envValues(opts, set)
	auto := filepath.Join(dir, VarsFileName)
	if _, err := os.Stat(auto); err == nil {
		diags = append(diags, s.varFileValues(auto, set)...)
	}
	for _, f := range opts.VarFiles {
		diags = append(diags, s.varFileValues(f, set)...)
	}
	for _, raw := range opts.Vars {
		diags = append(diags, s.cliVarValue(raw, set)...)
	}
	for _, name := range sortedVarNames(s.Variables) {
		v := s.Variables[name]
		got, ok := set[name]
		if !ok {
			if v.badDefault {
				v.Value = cty.UnknownVal(v.Type)
				continue
			}
			if v.Default == cty.NilVal {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "No value for required variable",
					Detail: fmt.Sprintf("Variable %q has no default; set it with -var, -var-file, %s or %s%s.",
						name, VarsFileName, EnvVarPrefix, name),
					Subject: v.DeclRange.Ptr(),
				})
				v.Value = cty.UnknownVal(v.Type)
				continue
			}
			v.Value = redactValue(v.Default, opts.Secrets)
			continue
		}
		conv, err := convert.Convert(got.val, v.Type)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("The value of variable %q must be %s: %s.", name, typeexpr.TypeString(v.Type), err),
				Subject:  got.rng.Ptr(),
			})
			v.Value = cty.UnknownVal(v.Type)
			continue
		}
		v.Value = redactValue(conv, opts.Secrets)
	}
	return diags
}

func sortedVarNames(m map[string]*Variable) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// envValues collects XPFLOW_VAR_name values for declared variables.
func (s *Spec) envValues(opts LoadOptions, set map[string]varValue) hcl.Diagnostics {
	if opts.Getenv == nil {
		return nil
	}
	names := map[string]bool{}
	for _, kv := range opts.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, EnvVarPrefix); ok {
			names[name] = true
		}
	}
	for name := range s.Variables {
		names[name] = true
	}
	for name := range names {
		v, ok := s.Variables[name]
		if !ok {
			continue // like Terraform, undeclared env values are ignored
		}
		raw := opts.Getenv(EnvVarPrefix + name)
		if raw == "" {
			continue
		}
		rng := hcl.Range{Filename: "env " + EnvVarPrefix + name, Start: hcl.InitialPos, End: hcl.InitialPos}
		set[name] = varValue{val: parseRawValue(raw, v.Type), rng: rng}
	}
	return nil
}

// parseRawValue reads a -var or environment value: an HCL literal when it
// parses to one that converts to ty, else the raw string.
func parseRawValue(raw string, ty cty.Type) cty.Value {
	if ty == cty.String {
		return cty.StringVal(raw)
	}
	if checkSource([]byte(raw), "-var", false).HasErrors() {
		return cty.StringVal(raw) // too deep to be an expression: taken as text
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "-var", hcl.InitialPos)
	if !diags.HasErrors() {
		if val, vdiags := expr.Value(nil); !vdiags.HasErrors() {
			if _, err := convert.Convert(val, ty); err == nil {
				return val
			}
		}
	}
	return cty.StringVal(raw)
}

// varFileValues reads name = value pairs from an HCL variables file.
func (s *Spec) varFileValues(path string, set map[string]varValue) hcl.Diagnostics {
	src, err := readLimited(path)
	if err != nil {
		detail := fmt.Sprintf("Cannot read variables file %s: %s.", path, err)
		if errors.Is(err, fs.ErrNotExist) {
			detail = fmt.Sprintf("The variables file %s does not exist.", path)
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file", Detail: detail}}
	}
	if diags := checkSource(src, path, false); diags.HasErrors() {
		return diags
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if f == nil {
		return diags
	}
	s.Files[path] = f
	attrs, more := f.Body.JustAttributes()
	diags = append(diags, more...)
	for _, name := range sortedAttrNames(attrs) {
		attr := attrs[name]
		if _, ok := s.Variables[name]; !ok {
			diags = append(diags, s.undeclaredVar(name, attr.NameRange))
			continue
		}
		val, more := attr.Expr.Value(nil)
		diags = append(diags, more...)
		if !more.HasErrors() {
			set[name] = varValue{val: val, rng: attr.Expr.Range()}
		}
	}
	return diags
}

// cliVarValue reads one -var name=value option.
func (s *Spec) cliVarValue(raw string, set map[string]varValue) hcl.Diagnostics {
	rng := hcl.Range{Filename: "-var", Start: hcl.InitialPos, End: hcl.Pos{Line: 1, Column: len(raw) + 1, Byte: len(raw)}}
	name, value, ok := strings.Cut(raw, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid -var option",
			Detail:   fmt.Sprintf("The option -var %q is not of the form name=value.", raw),
			Subject:  &rng,
		}}
	}
	v, declared := s.Variables[name]
	if !declared {
		return hcl.Diagnostics{s.undeclaredVar(name, rng)}
	}
	set[name] = varValue{val: parseRawValue(value, v.Type), rng: rng}
	return nil
}

func (s *Spec) undeclaredVar(name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Undeclared variable",
		Detail:   fmt.Sprintf("A value was given for variable %q, which is not declared.%s", name, didYouMean(name, sortedVarNames(s.Variables))),
		Subject:  rng.Ptr(),
	}
}
