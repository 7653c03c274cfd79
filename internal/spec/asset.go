package spec

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// decodeAssetBlock decodes a text, image or video block.
func decodeAssetBlock(block *hcl.Block) (*Asset, hcl.Diagnostics) {
	kind := Kind(block.Type)
	a := &Asset{Kind: kind, Name: block.Labels[0], Params: map[string]*hcl.Attribute{}, DeclRange: block.DefRange}
	diags := checkName(block.Type+" asset", block)
	content, more := block.Body.Content(assetSchemas[kind])
	diags = append(diags, more...)
	for name, attr := range content.Attributes {
		switch name {
		case metaForEach:
			a.ForEach = attr.Expr
		case metaCount:
			a.Count = attr.Expr
		case metaDependsOn:
			refs, more := decodeDependsOn(attr)
			diags = append(diags, more...)
			a.DependsOn = refs
		default:
			a.Params[name] = attr
		}
	}
	if a.ForEach != nil && a.Count != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid combination of \"count\" and \"for_each\"",
			Detail:   fmt.Sprintf("Asset %s sets both count and for_each; use one of them.", a.Addr()),
			Subject:  content.Attributes[metaCount].NameRange.Ptr(),
		})
	}
	return a, diags
}

// decodeDependsOn parses depends_on = [KIND.NAME, KIND.NAME["key"], ...].
func decodeDependsOn(attr *hcl.Attribute) ([]Ref, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(attr.Expr)
	var refs []Ref
	for _, e := range exprs {
		trav, more := hcl.AbsTraversalForExpr(e)
		if more.HasErrors() {
			diags = append(diags, invalidDependsOn(e.Range(), "a static reference such as image.hero"))
			continue
		}
		ref, ok := refFromTraversal(trav)
		if !ok || (len(trav) > 2 && ref.Key == cty.NilVal) || len(trav) > 3 {
			diags = append(diags, invalidDependsOn(e.Range(), "a reference to an asset, such as image.hero"))
			continue
		}
		refs = append(refs, ref)
	}
	return refs, diags
}

func invalidDependsOn(rng hcl.Range, want string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid depends_on reference",
		Detail:   fmt.Sprintf("Each depends_on entry must be %s.", want),
		Subject:  rng.Ptr(),
	}
}

// refFromTraversal reads KIND.NAME and an optional literal [KEY] from trav.
func refFromTraversal(trav hcl.Traversal) (Ref, bool) {
	if len(trav) < 2 || !IsKind(trav.RootName()) {
		return Ref{}, false
	}
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return Ref{}, false
	}
	ref := Ref{Kind: Kind(trav.RootName()), Name: attr.Name, Range: trav.SourceRange()}
	if len(trav) > 2 {
		if idx, ok := trav[2].(hcl.TraverseIndex); ok && idx.Key.IsWhollyKnown() && !idx.Key.IsNull() {
			ref.Key = idx.Key
		}
	}
	return ref, true
}

func (s *Spec) addAsset(a *Asset) hcl.Diagnostics {
	if old, ok := s.assetByAddr[a.Addr()]; ok {
		return hcl.Diagnostics{duplicateDiag("asset", a.Addr(), old.DeclRange, a.DeclRange)}
	}
	s.assetByAddr[a.Addr()] = a
	s.Assets = append(s.Assets, a)
	return nil
}

// Asset returns the asset with config address addr, or nil.
func (s *Spec) Asset(addr string) *Asset { return s.assetByAddr[addr] }

// sortedParamNames returns the names of a's parameters in a stable order.
func (a *Asset) sortedParamNames() []string {
	return sortedAttrNames(a.Params)
}

func sortedAttrNames(attrs map[string]*hcl.Attribute) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
