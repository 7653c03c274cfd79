package spec

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// The kinds of collection a linearToFunc builds.
const (
	toList = iota
	toSet
	toMap
)

// linearToFunc is tolist, toset or tomap. go-cty's own (stdlib.MakeToFunc)
// unifies the element types of a tuple or object before converting it,
// and that unification sorts the n element types with a quadratic
// comparison: toset over a 50,000-row CSV took 35 s. When every element
// already has the same type, which is the rule for a catalog, there is
// nothing to unify: this builds the list, set or map directly, in linear
// time, with the same result. Anything else (mixed types, nulls, unknown
// or marked values, empty collections) goes to go-cty's function, so
// conversions and error messages stay exactly as they were.
func linearToFunc(kind int) function.Function {
	var base function.Function
	switch kind {
	case toList:
		base = stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType))
	case toSet:
		base = stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType))
	default:
		base = stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType))
	}
	return function.New(&function.Spec{
		Description: base.Description(),
		Params: []function.Parameter{{
			Name:             "v",
			Type:             cty.DynamicPseudoType,
			AllowNull:        true,
			AllowDynamicType: true,
		}},
		Type: func(args []cty.Value) (cty.Type, error) {
			if _, ok := sameElementType(args[0].Type(), kind); ok {
				// A homogeneous collection always converts; go-cty
				// names the result type this way too.
				return collectionType(kind, cty.DynamicPseudoType), nil
			}
			return base.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			v := args[0]
			if _, ok := sameElementType(v.Type(), kind); !ok || v.IsNull() || !v.IsWhollyKnown() || v.ContainsMarked() {
				return base.Call(args)
			}
			switch kind {
			case toList:
				return cty.ListVal(v.AsValueSlice()), nil
			case toSet:
				return cty.SetVal(v.AsValueSlice()), nil
			default:
				return cty.MapVal(v.AsValueMap()), nil
			}
		},
	})
}

// sameElementType reports the one type of every element of a non-empty
// tuple (for a list or set) or object (for a map), when there is one and
// it is a concrete type.
func sameElementType(ty cty.Type, kind int) (cty.Type, bool) {
	var elems []cty.Type
	switch {
	case kind != toMap && ty.IsTupleType():
		elems = ty.TupleElementTypes()
	case kind == toMap && ty.IsObjectType():
		for _, at := range ty.AttributeTypes() {
			elems = append(elems, at)
		}
	default:
		return cty.NilType, false
	}
	if len(elems) == 0 || elems[0].HasDynamicTypes() {
		return cty.NilType, false
	}
	for _, t := range elems[1:] {
		if !t.Equals(elems[0]) {
			return cty.NilType, false
		}
	}
	return elems[0], true
}

func collectionType(kind int, elem cty.Type) cty.Type {
	switch kind {
	case toList:
		return cty.List(elem)
	case toSet:
		return cty.Set(elem)
	default:
		return cty.Map(elem)
	}
}
