package spec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// refContext says which references an expression may use.
type refContext struct {
	what  string // "local value x", "image.hero", "output y" for messages
	local bool   // a local value: no assets
	meta  bool   // a for_each or count expression: no assets, each or count
	each  bool   // each.key and each.value are available
	count bool   // count.index is available
}

// rootNames are the names an expression may start with.
var rootNames = []string{"var", "local", "each", "count", string(KindText), string(KindImage), string(KindVideo)}

// checkRefs reports references expr may not use in rc: unknown roots,
// undeclared variables and locals, misplaced each and count, assets in
// locals or for_each, and unsupported asset attributes.
func (s *Spec) checkRefs(expr hcl.Expression, rc refContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, trav := range expr.Variables() {
		diags = append(diags, s.checkTraversal(trav, rc)...)
	}
	diags = append(diags, s.checkAssetAttrs(expr)...)
	if diags.HasErrors() && s.badExprs != nil {
		s.badExprs[expr] = true
	}
	return diags
}

func (s *Spec) checkTraversal(trav hcl.Traversal, rc refContext) hcl.Diagnostics {
	root := trav.RootName()
	rng := trav.SourceRange().Ptr()
	attr := ""
	if len(trav) > 1 {
		if a, ok := trav[1].(hcl.TraverseAttr); ok {
			attr = a.Name
		}
	}
	switch {
	case root == "var":
		return s.checkNamed(trav, attr, "input variable", "var", sortedVarNames(s.Variables), rng)
	case root == "local":
		return s.checkNamed(trav, attr, "local value", "local", sortedAttrNames(s.localExprs), rng)
	case root == "each":
		return checkMeta(rc.each && !rc.meta, "each", attr, []string{"key", "value"}, rc, rng)
	case root == "count":
		return checkMeta(rc.count && !rc.meta, "count", attr, []string{"index"}, rc, rng)
	case IsKind(root):
		if rc.local {
			return diag(rng, "Invalid reference in local value",
				fmt.Sprintf("%s refers to %s, but locals cannot reference assets in this version.", rc.what, trav.RootName()+"."+attr))
		}
		if rc.meta {
			return diag(rng, "Invalid for_each or count argument",
				fmt.Sprintf("The for_each or count of %s refers to an asset; it may only use variables, locals and functions, since it must be known before any asset is generated.", rc.what))
		}
		return nil
	}
	return diag(rng, "Unknown reference",
		fmt.Sprintf("There is no %q here; references start with var, local, each, count, text, image or video.%s", root, didYouMean(root, rootNames)))
}

func (s *Spec) checkNamed(trav hcl.Traversal, attr, what, root string, names []string, rng *hcl.Range) hcl.Diagnostics {
	if attr == "" {
		return diag(rng, "Invalid reference", fmt.Sprintf("A reference to %s must be followed by the name of a %s, such as %s.NAME.", root, what, root))
	}
	for _, n := range names {
		if n == attr {
			return nil
		}
	}
	return diag(trav.SourceRange().Ptr(), "Reference to undeclared "+what,
		fmt.Sprintf("No %s named %q is declared.%s", what, attr, didYouMean(attr, names)))
}

func checkMeta(allowed bool, root, attr string, attrs []string, rc refContext, rng *hcl.Range) hcl.Diagnostics {
	if !allowed {
		where := "in an asset that sets " + map[string]string{"each": "for_each", "count": "count"}[root]
		return diag(rng, fmt.Sprintf("Invalid %q reference", root),
			fmt.Sprintf("%s uses %s, which is only available %s, in its parameters.", rc.what, root, where))
	}
	for _, a := range attrs {
		if a == attr {
			return nil
		}
	}
	return diag(rng, fmt.Sprintf("Invalid %q attribute", root),
		fmt.Sprintf("%s has no attribute %q.%s", root, attr, didYouMean(attr, attrs)))
}

func diag(rng *hcl.Range, summary, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng}}
}

// checkAssetAttrs walks expr for KIND.NAME.attr and KIND.NAME[key].attr and
// reports attributes that instances of that kind do not have, and instance
// keys that do not match the asset's for_each or count.
func (s *Spec) checkAssetAttrs(expr hcl.Expression) hcl.Diagnostics {
	syn, ok := expr.(hclsyntax.Expression)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	_ = hclsyntax.VisitAll(syn, func(n hclsyntax.Node) hcl.Diagnostics {
		switch e := n.(type) {
		case *hclsyntax.ScopeTraversalExpr:
			diags = append(diags, s.checkAssetTraversal(e.Traversal, nil)...)
		case *hclsyntax.RelativeTraversalExpr:
			if ix, ok := e.Source.(*hclsyntax.IndexExpr); ok {
				if st, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr); ok && len(st.Traversal) == 2 {
					t := append(append(hcl.Traversal{}, st.Traversal...), hcl.TraverseIndex{SrcRange: ix.Key.Range()})
					diags = append(diags, s.checkAssetTraversal(append(t, e.Traversal...), ix)...)
				}
			}
		}
		return nil
	})
	return diags
}

// checkAssetTraversal checks one KIND.NAME... traversal; ix is the index
// expression when the key is not a literal.
func (s *Spec) checkAssetTraversal(trav hcl.Traversal, ix *hclsyntax.IndexExpr) hcl.Diagnostics {
	ref, ok := refFromTraversal(trav)
	if !ok {
		return nil
	}
	a := s.assetByAddr[ref.Addr()]
	if a == nil {
		return nil // BlockDeps reports undeclared assets
	}
	rest := trav[2:]
	multi := a.ForEach != nil || a.Count != nil
	if len(rest) == 0 {
		return nil
	}
	if idx, isIdx := rest[0].(hcl.TraverseIndex); isIdx {
		if !multi {
			return diag(idx.SrcRange.Ptr(), "Unexpected instance key",
				fmt.Sprintf("%s sets neither for_each nor count, so it has a single instance and takes no [key].", a.Addr()))
		}
		rest = rest[1:]
	} else if multi {
		return diag(trav.SourceRange().Ptr(), "Missing instance key",
			fmt.Sprintf("%s has one instance per for_each key or count index; refer to one with %s[KEY].", a.Addr(), a.Addr()))
	}
	if len(rest) == 0 {
		return nil
	}
	at, ok := rest[0].(hcl.TraverseAttr)
	if !ok {
		return nil
	}
	for _, n := range instanceAttrNames(a.Kind) {
		if n == at.Name {
			return nil
		}
	}
	return diag(at.SrcRange.Ptr(), "Unsupported attribute",
		fmt.Sprintf("%s has no attribute %q; %s.%s", a.Addr(), at.Name, resultsPhrase(a.Kind), didYouMean(at.Name, instanceAttrNames(a.Kind))))
}
