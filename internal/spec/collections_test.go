package spec

import (
	"fmt"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// TestLinearToFuncsMatchGoCty checks tolist, toset and tomap against
// go-cty's own functions: the same value, or the same error, for
// homogeneous collections (built directly) and everything else (handed
// to go-cty).
func TestLinearToFuncsMatchGoCty(t *testing.T) {
	row := func(sku string, price int) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"sku": cty.StringVal(sku), "price": cty.NumberIntVal(int64(price))})
	}
	inputs := map[string]cty.Value{
		"strings":            cty.TupleVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a"), cty.StringVal("b")}),
		"one string":         cty.TupleVal([]cty.Value{cty.StringVal("a")}),
		"objects":            cty.TupleVal([]cty.Value{row("a", 1), row("b", 2)}),
		"mixed string, num":  cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1)}),
		"mixed objects":      cty.TupleVal([]cty.Value{row("a", 1), cty.ObjectVal(map[string]cty.Value{"sku": cty.StringVal("b")})}),
		"with null":          cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String)}),
		"with unknown":       cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
		"marked":             cty.TupleVal([]cty.Value{cty.StringVal("a").Mark("secret"), cty.StringVal("b")}),
		"empty tuple":        cty.EmptyTupleVal,
		"null tuple":         cty.NullVal(cty.Tuple([]cty.Type{cty.String})),
		"unknown tuple":      cty.UnknownVal(cty.Tuple([]cty.Type{cty.String, cty.String})),
		"object of strings":  cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("x"), "b": cty.StringVal("y")}),
		"object of objects":  cty.ObjectVal(map[string]cty.Value{"a": row("a", 1), "b": row("b", 2)}),
		"object mixed":       cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("x"), "b": cty.True}),
		"empty object":       cty.EmptyObjectVal,
		"list already":       cty.ListVal([]cty.Value{cty.StringVal("a")}),
		"set already":        cty.SetVal([]cty.Value{cty.StringVal("a")}),
		"map already":        cty.MapVal(map[string]cty.Value{"a": cty.StringVal("x")}),
		"string":             cty.StringVal("a"),
		"tuple of tuples":    cty.TupleVal([]cty.Value{cty.TupleVal([]cty.Value{cty.StringVal("a")}), cty.TupleVal([]cty.Value{cty.StringVal("b")})}),
		"tuple of lists":     cty.TupleVal([]cty.Value{cty.ListVal([]cty.Value{cty.StringVal("a")}), cty.ListValEmpty(cty.String)}),
		"dynamic null elems": cty.TupleVal([]cty.Value{cty.NullVal(cty.DynamicPseudoType), cty.NullVal(cty.DynamicPseudoType)}),
	}
	funcs := map[string]struct {
		kind int
		want cty.Type
	}{
		"tolist": {toList, cty.List(cty.DynamicPseudoType)},
		"toset":  {toSet, cty.Set(cty.DynamicPseudoType)},
		"tomap":  {toMap, cty.Map(cty.DynamicPseudoType)},
	}
	for fname, f := range funcs {
		ours, theirs := linearToFunc(f.kind), stdlib.MakeToFunc(f.want)
		for iname, in := range inputs {
			t.Run(fname+"/"+iname, func(t *testing.T) {
				got, gotErr := ours.Call([]cty.Value{in})
				want, wantErr := theirs.Call([]cty.Value{in})
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("error = %v, want %v", gotErr, wantErr)
				}
				if gotErr != nil {
					return
				}
				if !got.Type().Equals(want.Type()) || !got.RawEquals(want) {
					t.Errorf("%s(%#v) = %#v, want %#v", fname, in, got, want)
				}
			})
		}
	}
}

func bigTuple(n int) cty.Value {
	elems := make([]cty.Value, n)
	for i := range elems {
		elems[i] = cty.StringVal(fmt.Sprintf("sku-%06d", i))
	}
	return cty.TupleVal(elems)
}

// BenchmarkToset50k is toset over a 50,000-element tuple of strings, as
// built by [for row in csvdecode(...) : row.sku]; go-cty's own toset takes
// tens of seconds here.
func BenchmarkToset50k(b *testing.B) {
	in := []cty.Value{bigTuple(50_000)}
	f := linearToFunc(toSet)
	for b.Loop() {
		if _, err := f.Call(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToset5k and BenchmarkTosetGoCty5k compare this toset with
// go-cty's on 5,000 elements (go-cty's takes too long at 50,000).
func BenchmarkToset5k(b *testing.B) { benchmarkToset(b, linearToFunc(toSet), 5000) }

func BenchmarkTosetGoCty5k(b *testing.B) {
	benchmarkToset(b, stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), 5000)
}

func benchmarkToset(b *testing.B, f function.Function, n int) {
	in := []cty.Value{bigTuple(n)}
	for b.Loop() {
		if _, err := f.Call(in); err != nil {
			b.Fatal(err)
		}
	}
}
