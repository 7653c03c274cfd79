package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Validate checks every reference in the spec and reports dependency cycles
// among assets, one diagnostic per cycle naming every asset on it. Load
// calls it; it is exported for callers that build a Spec by other means.
func (s *Spec) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, a := range s.Assets {
		rc := refContext{what: a.Addr(), each: a.ForEach != nil, count: a.Count != nil}
		for _, name := range a.sortedParamNames() {
			diags = append(diags, s.checkRefs(a.Params[name].Expr, rc)...)
		}
		meta := rc
		meta.meta = true
		for _, e := range []hcl.Expression{a.ForEach, a.Count} {
			if e != nil {
				diags = append(diags, s.checkRefs(e, meta)...)
			}
		}
	}
	for _, o := range s.Outputs {
		if o.Value != nil {
			diags = append(diags, s.checkRefs(o.Value, refContext{what: "output " + o.Name})...)
		}
	}
	deps, more := s.BlockDeps()
	diags = append(diags, more...)
	diags = append(diags, s.cycleDiags(deps)...)
	return diags
}

// assetExprs returns every expression of a whose references are dependencies.
func (a *Asset) assetExprs() []hcl.Expression {
	var out []hcl.Expression
	for _, name := range a.sortedParamNames() {
		out = append(out, a.Params[name].Expr)
	}
	for _, e := range []hcl.Expression{a.ForEach, a.Count} {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// BlockDeps returns, for each asset config address, the asset config addresses it references
// (from Expr.Variables() of every param, for_each/count and depends_on), each with the range of
// the first reference. Unknown asset references are diagnostics with a suggestion when close.
func (s *Spec) BlockDeps() (map[string][]Ref, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := make(map[string][]Ref, len(s.Assets))
	for _, a := range s.Assets {
		seen := map[string]bool{}
		add := func(ref Ref) {
			if _, ok := s.assetByAddr[ref.Addr()]; !ok {
				diags = append(diags, s.undeclaredAsset(ref))
				return
			}
			if !seen[ref.Addr()] {
				seen[ref.Addr()] = true
				out[a.Addr()] = append(out[a.Addr()], ref)
			}
		}
		for _, e := range a.assetExprs() {
			for _, trav := range e.Variables() {
				if !IsKind(trav.RootName()) {
					continue
				}
				ref, ok := refFromTraversal(trav)
				if !ok {
					diags = append(diags, diag(trav.SourceRange().Ptr(), "Invalid reference",
						fmt.Sprintf("A reference to a %s asset must be followed by its name, such as %s.NAME.", trav.RootName(), trav.RootName()))...)
					continue
				}
				if s.assetByAddr[ref.Addr()] == nil {
					s.markBad(e)
				}
				add(ref)
			}
		}
		for _, ref := range a.DependsOn {
			add(ref)
		}
		if _, ok := out[a.Addr()]; !ok {
			out[a.Addr()] = nil
		}
	}
	for _, o := range s.Outputs {
		if o.Value == nil {
			continue
		}
		for _, trav := range o.Value.Variables() {
			if ref, ok := refFromTraversal(trav); ok && s.assetByAddr[ref.Addr()] == nil {
				s.markBad(o.Value)
				diags = append(diags, s.undeclaredAsset(ref))
			}
		}
	}
	return out, diags
}

// markBad records an expression whose errors are already reported.
func (s *Spec) markBad(e hcl.Expression) {
	if s.badExprs != nil {
		s.badExprs[e] = true
	}
}

func (s *Spec) undeclaredAsset(ref Ref) *hcl.Diagnostic {
	var same, all []string
	for _, a := range s.Assets {
		all = append(all, a.Addr())
		if a.Kind == ref.Kind {
			same = append(same, a.Name)
		}
	}
	hint := didYouMean(ref.Name, same)
	if hint == "" {
		hint = didYouMean(ref.Addr(), all)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared asset",
		Detail:   fmt.Sprintf("No %s asset named %q is declared.%s", ref.Kind, ref.Name, hint),
		Subject:  ref.Range.Ptr(),
	}
}

// cycleDiags reports each dependency cycle among assets.
func (s *Spec) cycleDiags(deps map[string][]Ref) hcl.Diagnostics {
	names := make([]string, 0, len(s.Assets))
	edges := map[string][]string{}
	for _, a := range s.Assets {
		names = append(names, a.Addr())
		for _, r := range deps[a.Addr()] {
			edges[a.Addr()] = append(edges[a.Addr()], r.Addr())
		}
	}
	sort.Strings(names)
	_, cycles := topoSort(names, edges)
	var diags hcl.Diagnostics
	for _, cyc := range cycles {
		var subject *hcl.Range
		for _, r := range deps[cyc[0]] {
			if r.Addr() == cyc[1] {
				subject = r.Range.Ptr()
			}
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle: " + strings.Join(cyc, " -> "),
			Detail:   fmt.Sprintf("These assets depend on each other in a cycle, so none of them can be generated first: %s.", strings.Join(cyc, " -> ")),
			Subject:  subject,
		})
	}
	return diags
}
