package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// evalPlan is the cached reference analysis of one asset's parameters.
type evalPlan struct {
	blocks []*blockRefs // referenced asset blocks, in first-reference order
}

// blockRefs is how an asset's parameters refer to one asset block.
type blockRefs struct {
	addr  string
	whole bool     // the block value is used as a whole (or keys are dynamic)
	keys  []keyRef // KIND.NAME[KEY] references, when not whole
	state *blockState
}

// keyRef is one KIND.NAME[KEY] reference: a literal key or a key expression.
type keyRef struct {
	lit  cty.Value      // literal key, or cty.NilVal
	expr hcl.Expression // key expression when not literal
	rng  hcl.Range
}

// plan returns the cached reference analysis of a.
func (sc *Scope) plan(a *Asset) *evalPlan {
	if p, ok := sc.plans[a]; ok {
		return p
	}
	p := &evalPlan{}
	byAddr := map[string]*blockRefs{}
	get := func(kind, name string) *blockRefs {
		addr := kind + "." + name
		br := byAddr[addr]
		if br == nil {
			br = &blockRefs{addr: addr, state: sc.blocks[addr]}
			byAddr[addr] = br
			p.blocks = append(p.blocks, br)
		}
		return br
	}
	for _, name := range a.sortedParamNames() {
		collectKeyRefs(a.Params[name].Expr, get)
	}
	for _, br := range p.blocks {
		if br.state == nil || (br.state.asset.ForEach == nil && br.state.asset.Count == nil) {
			br.whole = true
		}
	}
	sc.plans[a] = p
	return p
}

// collectKeyRefs records every asset reference in expr via get.
func collectKeyRefs(expr hcl.Expression, get func(kind, name string) *blockRefs) {
	syn, ok := expr.(hclsyntax.Expression)
	if !ok {
		for _, trav := range expr.Variables() {
			if ref, ok := refFromTraversal(trav); ok {
				get(string(ref.Kind), ref.Name).whole = true
			}
		}
		return
	}
	indexed := map[*hclsyntax.ScopeTraversalExpr]bool{}
	_ = hclsyntax.VisitAll(syn, func(n hclsyntax.Node) hcl.Diagnostics {
		switch e := n.(type) {
		case *hclsyntax.IndexExpr:
			st, ok := e.Collection.(*hclsyntax.ScopeTraversalExpr)
			if !ok || len(st.Traversal) != 2 {
				return nil
			}
			ref, ok := refFromTraversal(st.Traversal)
			if !ok {
				return nil
			}
			indexed[st] = true
			br := get(string(ref.Kind), ref.Name)
			if !keyIsStatic(e.Key) {
				br.whole = true
			}
			br.keys = append(br.keys, keyRef{expr: e.Key, rng: e.Range()})
		case *hclsyntax.ScopeTraversalExpr:
			ref, ok := refFromTraversal(e.Traversal)
			if !ok || indexed[e] {
				return nil
			}
			br := get(string(ref.Kind), ref.Name)
			if ref.Key == cty.NilVal {
				br.whole = true
				return nil
			}
			br.keys = append(br.keys, keyRef{lit: ref.Key, rng: e.Range()})
		}
		return nil
	})
}

// keyIsStatic reports whether a key expression uses no asset.
func keyIsStatic(e hcl.Expression) bool {
	for _, trav := range e.Variables() {
		if IsKind(trav.RootName()) {
			return false
		}
	}
	return true
}

// Eval evaluates every param of inst. Unknown upstream results give unknown values. It converts
// each param to its declared type and reports type errors against the attribute's range, naming
// the asset address. Deps are the instance addresses inst's params (and depends_on) reference.
func (sc *Scope) Eval(inst *Instance) (map[string]cty.Value, []string, hcl.Diagnostics) {
	a := inst.Asset
	p := sc.plan(a)
	base := sc.context(inst, nil)
	kinds := map[Kind]map[string]cty.Value{}
	visible := map[string][]*instState{} // block addr -> instances the expressions can see
	var diags hcl.Diagnostics
	for _, br := range p.blocks {
		if br.state == nil {
			continue // undeclared; reported by BlockDeps
		}
		val, seen, more := sc.blockValue(br, base)
		diags = append(diags, more...)
		kind := br.state.asset.Kind
		if kinds[kind] == nil {
			kinds[kind] = map[string]cty.Value{}
		}
		kinds[kind][br.state.asset.Name] = val
		visible[br.addr] = seen
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	ctx := sc.context(inst, kinds)
	params := make(map[string]cty.Value, len(a.Params))
	depSet := map[string]bool{}
	marked := map[string]bool{} // block addrs whose marks survived
	for _, name := range a.sortedParamNames() {
		if sc.spec.badExprs[a.Params[name].Expr] {
			continue // Load reported its errors
		}
		var secrets []string
		read := 0
		if r := sc.spec.reader; r != nil {
			secrets, read = r.secrets, r.redactions
		}
		v, more := sc.evalParam(inst, a.Params[name], ctx)
		diags = append(diags, more...)
		if v == cty.NilVal {
			continue
		}
		v, marks := v.UnmarkDeep()
		// The key typed into the spec, in a local, or read from a file:
		// it is never sent or recorded, and the user is told where it was.
		v, typed := redactValueDid(v, secrets)
		if typed || (sc.spec.reader != nil && sc.spec.reader.redactions > read) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "API key replaced",
				Detail: fmt.Sprintf("%s: the value of %s holds the API key (typed in, from a variable or local, or from a file it reads); xpflow sends and records %s in its place.",
					inst.Addr, name, Redacted),
				Subject: a.Params[name].Expr.Range().Ptr(),
				Extra:   KeyReplaced(name),
			})
		}
		for m := range marks {
			if im, ok := m.(instMark); ok {
				depSet[string(im)] = true
				if st := sc.insts[string(im)]; st != nil {
					marked[st.inst.Asset.Addr()] = true
				}
			}
		}
		if !v.IsNull() {
			params[name] = v
		}
	}
	for addr, seen := range visible {
		if !marked[addr] {
			for _, st := range seen {
				depSet[st.inst.Addr] = true
			}
		}
	}
	for _, ref := range a.DependsOn {
		sc.addRefDeps(ref, depSet)
	}
	return params, sortedKeys(depSet), diags
}

// addRefDeps adds the instances a depends_on reference names.
func (sc *Scope) addRefDeps(ref Ref, deps map[string]bool) {
	b := sc.blocks[ref.Addr()]
	if b == nil {
		return
	}
	if ref.Key != cty.NilVal {
		if st, ok := b.lookup(ref.Key); ok {
			deps[st.inst.Addr] = true
			return
		}
	}
	for _, st := range b.insts {
		deps[st.inst.Addr] = true
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// blockValue returns the value of a referenced block for one evaluation and
// the instances it exposes: the whole block, or only the keyed instances.
func (sc *Scope) blockValue(br *blockRefs, ctx *hcl.EvalContext) (cty.Value, []*instState, hcl.Diagnostics) {
	b := br.state
	if br.whole {
		return b.fullValue(), b.insts, nil
	}
	var diags hcl.Diagnostics
	partial := map[string]cty.Value{}
	var seen []*instState
	for _, kr := range br.keys {
		key := kr.lit
		if key == cty.NilVal {
			v, more := kr.expr.Value(ctx)
			if more.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
				return b.fullValue(), b.insts, nil // let HCL report it against the whole block
			}
			key, _ = v.UnmarkDeep()
		}
		st, ok := b.lookup(key)
		if !ok {
			diags = append(diags, sc.noInstance(b, key, kr.rng))
			continue
		}
		if _, dup := partial[keyString(st.inst.Key)]; !dup {
			partial[keyString(st.inst.Key)] = st.object()
			seen = append(seen, st)
		}
	}
	return cty.ObjectVal(partial), seen, diags
}

// noInstance reports a reference to a key the block does not have.
func (sc *Scope) noInstance(b *blockState, key cty.Value, rng hcl.Range) *hcl.Diagnostic {
	var keys []string
	for i, st := range b.insts {
		if i == 10 {
			keys = append(keys, fmt.Sprintf("and %d more", len(b.insts)-10))
			break
		}
		keys = append(keys, instanceAddr("", st.inst.Key))
	}
	shown := "it has no instances"
	if len(keys) > 0 {
		shown = "its keys are " + strings.Join(keys, ", ")
	}
	addr := b.asset.Addr()
	var name string
	if conv, err := convert.Convert(key, cty.String); err == nil && !conv.IsNull() && key.Type() == cty.String {
		name = instanceAddr(addr, conv)
	} else {
		name = addr + "[" + fmt.Sprint(key.GoString()) + "]"
		if n, err := convert.Convert(key, cty.Number); err == nil && !n.IsNull() {
			name = instanceAddr(addr, n)
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "No instance " + name,
		Detail:   fmt.Sprintf("%s has no instance with that key; %s.", addr, shown),
		Subject:  rng.Ptr(),
	}
}

// evalParam evaluates one parameter and converts it to its declared type.
// It returns cty.NilVal when the parameter has errors.
func (sc *Scope) evalParam(inst *Instance, attr *hcl.Attribute, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	p, _ := paramOf(inst.Asset.Kind, attr.Name)
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	unmarked, marks := v.UnmarkDeep()
	conv, err := convert.Convert(unmarked, p.Type)
	if err != nil {
		return cty.NilVal, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("%s: %s must be %s: %s.", inst.Addr, attr.Name, p.Type.FriendlyName(), err),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if conv.IsNull() {
		if p.Required {
			return cty.NilVal, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("%s: %s is required and must not be null.", inst.Addr, attr.Name),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		return conv.WithMarks(marks), diags
	}
	if d := checkParamValue(inst, p, attr, conv); d != nil {
		return cty.NilVal, append(diags, d)
	}
	return conv.WithMarks(marks), diags
}

// checkParamValue checks the domain of a known parameter value.
func checkParamValue(inst *Instance, p Param, attr *hcl.Attribute, v cty.Value) *hcl.Diagnostic {
	if p.Type != cty.Number || !v.IsKnown() {
		return nil
	}
	bad := func(want string) *hcl.Diagnostic {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for " + p.Name,
			Detail:   fmt.Sprintf("%s: %s must be %s, not %s.", inst.Addr, p.Name, want, v.AsBigFloat().Text('g', -1)),
			Subject:  attr.Expr.Range().Ptr(),
		}
	}
	if p.Whole {
		if n, ok := wholeNumber(v); !ok || n <= 0 {
			return bad("a whole number greater than zero")
		}
	}
	if p.Name == "temperature" {
		f, _ := v.AsBigFloat().Float64()
		if f < 0 || f > 2 {
			return bad("between 0 and 2")
		}
	}
	return nil
}
