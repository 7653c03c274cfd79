package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// varObject returns the value of the "var" namespace.
func (s *Spec) varObject() cty.Value {
	vals := make(map[string]cty.Value, len(s.Variables))
	for name, v := range s.Variables {
		if v.Value == cty.NilVal {
			vals[name] = cty.DynamicVal
			continue
		}
		vals[name] = v.Value
	}
	return cty.ObjectVal(vals)
}

// baseContext is the evaluation context with var, local and functions only.
func (s *Spec) baseContext() *hcl.EvalContext {
	locals := make(map[string]cty.Value, len(s.Locals))
	for k, v := range s.Locals {
		locals[k] = v
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": s.varObject(), "local": cty.ObjectVal(locals)},
		Functions: s.functions,
	}
}

// evalLocals evaluates the locals in dependency order.
func (s *Spec) evalLocals() hcl.Diagnostics {
	var diags hcl.Diagnostics
	deps := map[string][]string{}
	for _, name := range sortedAttrNames(s.localExprs) {
		attr := s.localExprs[name]
		more := s.checkRefs(attr.Expr, refContext{what: "local value " + name, local: true})
		diags = append(diags, more...)
		if more.HasErrors() {
			s.Locals[name] = cty.DynamicVal
		}
		for _, trav := range attr.Expr.Variables() {
			if trav.RootName() != "local" || len(trav) < 2 {
				continue
			}
			if a, ok := trav[1].(hcl.TraverseAttr); ok {
				if _, declared := s.localExprs[a.Name]; declared {
					deps[name] = append(deps[name], a.Name)
				}
			}
		}
	}
	order, cycles := topoSort(sortedAttrNames(s.localExprs), deps)
	for _, cyc := range cycles {
		attr := s.localExprs[cyc[0]]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cycle among local values",
			Detail:   fmt.Sprintf("The local values refer to each other in a cycle: local.%s.", strings.Join(cyc, " -> local.")),
			Subject:  attr.Range.Ptr(),
		})
		for _, n := range cyc {
			s.Locals[n] = cty.DynamicVal
		}
	}
	for _, name := range order {
		if _, done := s.Locals[name]; done {
			continue
		}
		val, more := s.localExprs[name].Expr.Value(s.baseContext())
		diags = append(diags, more...)
		if more.HasErrors() {
			val = cty.DynamicVal
		}
		s.Locals[name] = val
	}
	return diags
}

// topoSort orders nodes so that each comes after its deps, and returns every
// cycle (as a closed path, first node repeated last) it finds.
func topoSort(nodes []string, deps map[string][]string) ([]string, [][]string) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order []string
	var cycles [][]string
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		switch state[n] {
		case done:
			return
		case visiting:
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] == n {
					cyc := append(append([]string{}, stack[i:]...), n)
					cycles = append(cycles, cyc)
					break
				}
			}
			return
		}
		state[n] = visiting
		stack = append(stack, n)
		ds := append([]string{}, deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			visit(d)
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		order = append(order, n)
	}
	for _, n := range nodes {
		visit(n)
	}
	return order, cycles
}
