package spec

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// funcTable is the set of functions available in expressions.
type funcTable map[string]function.Function

// fileReader reads the files that file() and templatefile() name:
// relative to the spec directory, confined to it unless allowOutside, at
// most MaxSourceBytes, with every secret replaced by Redacted.
type fileReader struct {
	dir          string
	allowOutside bool
	secrets      []string
	redactions   int // reads whose text held a secret; evaluation is sequential
}

// newFuncTable returns the function table for a spec whose files r reads:
// the cty standard library under Terraform's names plus file and
// templatefile, which read paths relative to the spec directory.
func newFuncTable(r *fileReader) funcTable {
	t := baseFunctions(r)
	t["templatefile"] = templateFileFunc(r, t)
	return t
}

// baseFunctions is every function except templatefile, alphabetised.
func baseFunctions(r *fileReader) funcTable {
	return funcTable{
		"abs":                    stdlib.AbsoluteFunc,
		"can":                    tryfunc.CanFunc,
		"ceil":                   stdlib.CeilFunc,
		"chomp":                  stdlib.ChompFunc,
		"chunklist":              stdlib.ChunklistFunc,
		"coalesce":               stdlib.CoalesceFunc,
		"coalescelist":           stdlib.CoalesceListFunc,
		"compact":                stdlib.CompactFunc,
		"concat":                 stdlib.ConcatFunc,
		"contains":               stdlib.ContainsFunc,
		"csvdecode":              stdlib.CSVDecodeFunc,
		"distinct":               stdlib.DistinctFunc,
		"element":                stdlib.ElementFunc,
		"file":                   fileFunc(r),
		"flatten":                stdlib.FlattenFunc,
		"floor":                  stdlib.FloorFunc,
		"format":                 stdlib.FormatFunc,
		"formatdate":             stdlib.FormatDateFunc,
		"formatlist":             stdlib.FormatListFunc,
		"indent":                 stdlib.IndentFunc,
		"join":                   stdlib.JoinFunc,
		"jsondecode":             stdlib.JSONDecodeFunc,
		"jsonencode":             stdlib.JSONEncodeFunc,
		"keys":                   stdlib.KeysFunc,
		"length":                 lengthFunc,
		"log":                    stdlib.LogFunc,
		"lookup":                 stdlib.LookupFunc,
		"lower":                  stdlib.LowerFunc,
		"max":                    stdlib.MaxFunc,
		"merge":                  stdlib.MergeFunc,
		"min":                    stdlib.MinFunc,
		"parseint":               stdlib.ParseIntFunc,
		"pow":                    stdlib.PowFunc,
		"range":                  stdlib.RangeFunc,
		"regex":                  stdlib.RegexFunc,
		"regexall":               stdlib.RegexAllFunc,
		"replace":                stdlib.ReplaceFunc,
		"reverse":                stdlib.ReverseListFunc,
		"setintersection":        stdlib.SetIntersectionFunc,
		"setproduct":             stdlib.SetProductFunc,
		"setsubtract":            stdlib.SetSubtractFunc,
		"setsymmetricdifference": stdlib.SetSymmetricDifferenceFunc,
		"setunion":               stdlib.SetUnionFunc,
		"signum":                 stdlib.SignumFunc,
		"slice":                  stdlib.SliceFunc,
		"sort":                   stdlib.SortFunc,
		"split":                  stdlib.SplitFunc,
		"strlen":                 stdlib.StrlenFunc,
		"strrev":                 stdlib.ReverseFunc,
		"substr":                 stdlib.SubstrFunc,
		"timeadd":                stdlib.TimeAddFunc,
		"title":                  stdlib.TitleFunc,
		"tobool":                 stdlib.MakeToFunc(cty.Bool),
		"tolist":                 linearToFunc(toList),
		"tomap":                  linearToFunc(toMap),
		"tonumber":               stdlib.MakeToFunc(cty.Number),
		"toset":                  linearToFunc(toSet),
		"tostring":               stdlib.MakeToFunc(cty.String),
		"trim":                   stdlib.TrimFunc,
		"trimprefix":             stdlib.TrimPrefixFunc,
		"trimspace":              stdlib.TrimSpaceFunc,
		"trimsuffix":             stdlib.TrimSuffixFunc,
		"try":                    tryfunc.TryFunc,
		"upper":                  stdlib.UpperFunc,
		"values":                 stdlib.ValuesFunc,
		"zipmap":                 stdlib.ZipmapFunc,
	}
}

// read returns the file at path (relative to the spec directory) as UTF-8
// text. A file outside the spec directory is refused unless allowed; a
// secret in it is replaced by Redacted, so the API key can never reach a
// prompt, the state or an output through a file.
func (r *fileReader) read(path string) (string, error) {
	full, err := insideDir(r.dir, path, r.allowOutside)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(full)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", full, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", full)
	}
	if fi.Size() > MaxSourceBytes {
		return "", fmt.Errorf("%s is %d bytes, over the %d-byte limit for files read by a spec", full, fi.Size(), MaxSourceBytes)
	}
	f, err := os.Open(full)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", full, err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSourceBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", full, err)
	}
	if len(src) > MaxSourceBytes {
		return "", fmt.Errorf("%s is over the %d-byte limit for files read by a spec", full, MaxSourceBytes)
	}
	if !utf8.Valid(src) {
		return "", fmt.Errorf("%s is not valid UTF-8 text", full)
	}
	text, did := redact(string(src), r.secrets)
	if did {
		r.redactions++
	}
	return text, nil
}

// fileFunc is file(path): the contents of a file relative to the spec directory.
func fileFunc(r *fileReader) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := r.read(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(s), nil
		},
	})
}

// templateFileFunc is templatefile(path, vars): an HCL template rendered with
// vars and every function of funcs except templatefile itself.
func templateFileFunc(r *fileReader, funcs funcTable) function.Function {
	inner := map[string]function.Function{}
	for name, f := range funcs {
		inner[name] = f
	}
	render := func(args []cty.Value) (cty.Value, error) {
		src, err := r.read(args[0].AsString())
		if err != nil {
			return cty.DynamicVal, err
		}
		if diags := checkSource([]byte(src), args[0].AsString(), true); diags.HasErrors() {
			return cty.DynamicVal, fmt.Errorf("template %s: %w", args[0].AsString(), diags)
		}
		expr, diags := hclsyntax.ParseTemplate([]byte(src), args[0].AsString(), hcl.InitialPos)
		if diags.HasErrors() {
			return cty.DynamicVal, fmt.Errorf("parse template %s: %w", args[0].AsString(), diags)
		}
		vars := args[1]
		if !vars.Type().IsObjectType() && !vars.Type().IsMapType() {
			return cty.DynamicVal, function.NewArgErrorf(1, "template variables must be an object or a map")
		}
		ctx := &hcl.EvalContext{Variables: vars.AsValueMap(), Functions: inner}
		for _, trav := range expr.Variables() {
			if _, ok := ctx.Variables[trav.RootName()]; !ok {
				return cty.DynamicVal, function.NewArgErrorf(1, "template %s uses %q, which is not in the variables given", args[0].AsString(), trav.RootName())
			}
		}
		val, diags := expr.Value(ctx)
		if diags.HasErrors() {
			return cty.DynamicVal, fmt.Errorf("render template %s: %w", args[0].AsString(), diags)
		}
		return val, nil
	}
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: func(args []cty.Value) (cty.Type, error) {
			if !args[0].IsKnown() || !args[1].IsWhollyKnown() {
				return cty.DynamicPseudoType, nil
			}
			val, err := render(args)
			return val.Type(), err
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) { return render(args) },
	})
}

// lengthFunc is Terraform's length: the number of elements of a collection,
// tuple or object, or the number of characters of a string. (The cty
// LengthFunc rejects objects, which is what a for_each asset block is.)
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		ty := v.Type()
		switch {
		case ty == cty.String:
			return stdlib.Strlen(v)
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		case ty.IsTupleType():
			return cty.NumberIntVal(int64(len(ty.TupleElementTypes()))), nil
		case ty.IsCollectionType():
			return v.Length(), nil
		}
		return cty.UnknownVal(cty.Number), function.NewArgErrorf(0, "argument must be a string, a collection or a structural type")
	},
})
