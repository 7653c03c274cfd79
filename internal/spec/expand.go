package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Expand evaluates for_each and count (which may use only var, local and functions; an unknown
// or asset-dependent for_each is an error) and returns every instance in declaration order, keys
// sorted.
func (s *Spec) Expand() ([]*Instance, hcl.Diagnostics) {
	var out []*Instance
	var diags hcl.Diagnostics
	ctx := s.baseContext()
	for _, a := range s.Assets {
		var insts []*Instance
		var more hcl.Diagnostics
		switch {
		case a.ForEach != nil:
			insts, more = s.expandForEach(ctx, a)
		case a.Count != nil:
			insts, more = s.expandCount(ctx, a)
		default:
			insts = []*Instance{{Asset: a, Addr: a.Addr()}}
		}
		diags = append(diags, more...)
		out = append(out, insts...)
	}
	return out, diags
}

// evalMeta evaluates a for_each or count expression.
func (s *Spec) evalMeta(ctx *hcl.EvalContext, a *Asset, expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	if s.badExprs[expr] {
		return cty.NilVal, nil // Load reported its errors
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, _ = v.UnmarkDeep()
	return v, nil
}

func (s *Spec) expandForEach(ctx *hcl.EvalContext, a *Asset) ([]*Instance, hcl.Diagnostics) {
	v, diags := s.evalMeta(ctx, a, a.ForEach)
	if v == cty.NilVal {
		return nil, diags
	}
	bad := func(why string) hcl.Diagnostics {
		return diag(a.ForEach.Range().Ptr(), "Invalid for_each argument",
			fmt.Sprintf("The for_each of %s must be a map, or a set of strings; %s.", a.Addr(), why))
	}
	ty := v.Type()
	unknown := bad("its value is not known until apply")
	switch {
	case v.IsNull():
		return nil, bad("it is null")
	case !v.IsKnown():
		return nil, unknown
	case ty.IsSetType() && ty.ElementType() == cty.String:
		// Every walk over a cty set sorts it, with a costly comparison:
		// walk it once (IsWhollyKnown would be a second walk), checking
		// the elements on the way. The result is sorted by string already.
		vals := v.AsValueSlice()
		out := make([]*Instance, 0, len(vals))
		for _, ev := range vals {
			switch {
			case !ev.IsKnown():
				return nil, unknown
			case ev.IsNull():
				return nil, bad("it contains null")
			}
			out = append(out, &Instance{Asset: a, Key: ev, Each: ev, Addr: instanceAddr(a.Addr(), ev)})
		}
		sortInstances(out)
		return out, nil
	case !v.IsWhollyKnown():
		return nil, unknown
	case ty.IsMapType() || ty.IsObjectType():
		var out []*Instance
		for k, ev := range v.AsValueMap() {
			out = append(out, &Instance{Asset: a, Key: cty.StringVal(k), Each: ev, Addr: instanceAddr(a.Addr(), cty.StringVal(k))})
		}
		sortInstances(out)
		return out, nil
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		return nil, bad(fmt.Sprintf("found %s; convert a list of strings with toset(...)", ty.FriendlyName()))
	}
	return nil, bad("found " + ty.FriendlyName())
}

func sortInstances(insts []*Instance) {
	sort.Slice(insts, func(i, j int) bool { return insts[i].Key.AsString() < insts[j].Key.AsString() })
}

func (s *Spec) expandCount(ctx *hcl.EvalContext, a *Asset) ([]*Instance, hcl.Diagnostics) {
	v, diags := s.evalMeta(ctx, a, a.Count)
	if v == cty.NilVal {
		return nil, diags
	}
	bad := func(why string) hcl.Diagnostics {
		return diag(a.Count.Range().Ptr(), "Invalid count argument",
			fmt.Sprintf("The count of %s must be a whole number, zero or more; %s.", a.Addr(), why))
	}
	switch {
	case v.IsNull():
		return nil, bad("it is null")
	case !v.IsKnown():
		return nil, bad("its value is not known until apply")
	}
	nv, err := convert.Convert(v, cty.Number)
	if err != nil {
		return nil, bad("found " + v.Type().FriendlyName())
	}
	n, ok := wholeNumber(nv)
	if !ok || n < 0 {
		return nil, bad("found " + nv.AsBigFloat().Text('g', -1))
	}
	if n > MaxCount {
		return nil, bad(fmt.Sprintf("found %d, more than the limit of %d", n, MaxCount))
	}
	out := make([]*Instance, n)
	for i := range out {
		k := cty.NumberIntVal(int64(i))
		out[i] = &Instance{Asset: a, Key: k, Addr: instanceAddr(a.Addr(), k)}
	}
	return out, nil
}

// MaxCount is the largest count an asset may set; a larger one is almost
// certainly a mistake and would exhaust memory before any request is sent.
const MaxCount = 100000

// instanceAddr formats an instance address: addr, addr["key"] or addr[0].
func instanceAddr(addr string, key cty.Value) string {
	if key == cty.NilVal {
		return addr
	}
	if key.Type() == cty.String {
		return addr + "[" + QuoteKey(key.AsString()) + "]"
	}
	return addr + "[" + key.AsBigFloat().Text('f', -1) + "]"
}

// QuoteKey quotes a for_each key as an HCL string literal.
func QuoteKey(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + fmt.Sprintf("%04x", r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
