package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// evalSettings evaluates the xpflow and provider blocks of one file.
func (s *Spec) evalSettings(t *topBlocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := s.baseContext()
	if t.settings != nil {
		if attr, ok := t.settings.Attributes["output_dir"]; ok {
			if v, more := s.evalSetting(ctx, attr, cty.String); v != cty.NilVal {
				dir := v.AsString()
				if !filepath.IsAbs(dir) {
					dir = filepath.Join(s.Dir, dir)
				}
				dir = filepath.Clean(dir)
				if more := s.checkOutputDir(attr, dir); more.HasErrors() {
					diags = append(diags, more...)
				} else {
					s.Settings.OutputDir = dir
				}
			} else {
				diags = append(diags, more...)
			}
		}
		if attr, ok := t.settings.Attributes["max_cost_cents"]; ok {
			n, more := s.evalWhole(ctx, attr, 0)
			diags = append(diags, more...)
			if !more.HasErrors() {
				s.Settings.MaxCostCents, s.Settings.MaxCostRange = &n, attr.Range
			}
		}
		diags = append(diags, s.evalBackends(ctx, t.settings.Blocks)...)
	}
	if t.provider != nil {
		if attr, ok := t.provider.Attributes["base_url"]; ok {
			if v, more := s.evalSetting(ctx, attr, cty.String); v != cty.NilVal {
				s.Provider.BaseURL = v.AsString()
			} else {
				diags = append(diags, more...)
			}
		}
		if attr, ok := t.provider.Attributes["requests_per_minute"]; ok {
			n, more := s.evalWhole(ctx, attr, 1)
			diags = append(diags, more...)
			if !more.HasErrors() {
				s.Provider.RequestsPerMinute = n
			}
		}
	}
	return diags
}

// evalSetting evaluates a setting to a known, non-null value of type ty, or
// returns cty.NilVal and diagnostics.
func (s *Spec) evalSetting(ctx *hcl.EvalContext, attr *hcl.Attribute, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	diags := s.checkRefs(attr.Expr, refContext{what: attr.Name, local: true})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, _ = v.UnmarkDeep()
	conv, err := convert.Convert(v, ty)
	if err != nil || conv.IsNull() || !conv.IsKnown() {
		why := "it is null or unknown"
		if err != nil {
			why = err.Error()
		}
		return cty.NilVal, diag(attr.Expr.Range().Ptr(), "Invalid setting value",
			fmt.Sprintf("%s must be a %s: %s.", attr.Name, ty.FriendlyName(), why))
	}
	return conv, nil
}

// evalWhole evaluates a setting that must be a whole number >= min.
func (s *Spec) evalWhole(ctx *hcl.EvalContext, attr *hcl.Attribute, min int) (int, hcl.Diagnostics) {
	v, diags := s.evalSetting(ctx, attr, cty.Number)
	if v == cty.NilVal {
		return 0, diags
	}
	n, ok := wholeNumber(v)
	if !ok || n < min {
		return 0, diag(attr.Expr.Range().Ptr(), "Invalid setting value",
			fmt.Sprintf("%s must be a whole number of at least %d, not %s.", attr.Name, min, v.AsBigFloat().Text('g', -1)))
	}
	return n, nil
}

// wholeNumber returns v as an int when it is a known whole number that fits.
func wholeNumber(v cty.Value) (int, bool) {
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, false
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i > 1<<31 || i < -(1<<31) {
		return 0, false
	}
	return int(i), true
}

// checkOutputDir refuses an output directory that is a file system root
// or, unless AllowOutsideFiles, outside the spec directory: apply writes and sweeps there, and output_dir = "/" made it
// walk the whole file system.
func (s *Spec) checkOutputDir(attr *hcl.Attribute, dir string) hcl.Diagnostics {
	specDir := filepath.Clean(s.Dir)
	switch {
	case filepath.Dir(dir) == dir:
		return diag(attr.Expr.Range().Ptr(), "Invalid output directory",
			fmt.Sprintf("output_dir is %s, the root of the file system: pick a directory that only this campaign writes to.", dir))
	case !s.allowOutside && !within(specDir, dir):
		return diag(attr.Expr.Range().Ptr(), "Output directory outside the spec directory",
			fmt.Sprintf("output_dir is %s, outside the spec directory %s. Use a directory inside it, or run with -allow-outside-files to write there.", dir, specDir))
	case !s.allowOutside:
		// The text is inside; a symbolic link on the way (out -> /elsewhere)
		// may still lead out, as it may for file().
		realSpec, err1 := filepath.EvalSymlinks(specDir)
		real, err2 := realPath(dir)
		if err1 == nil && err2 == nil && !within(realSpec, real) {
			return diag(attr.Expr.Range().Ptr(), "Output directory outside the spec directory",
				fmt.Sprintf("output_dir is %s, which a symbolic link leads to %s, outside the spec directory %s. Use a directory inside it, or run with -allow-outside-files to write there.", dir, real, specDir))
		}
	}
	return nil
}

// realPath resolves the symbolic links of p's longest existing prefix and
// appends the rest, which does not exist yet and so holds no link.
func realPath(p string) (string, error) {
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}
