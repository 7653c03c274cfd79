package spec

import (
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// instMark marks the attribute values of one instance's object; its value
// is the instance address. Eval collects these marks to find dependencies.
type instMark string

// Scope evaluates asset parameters and outputs. It holds the instances and, per instance, the
// evaluated inputs and a Result. It is not safe for concurrent use; callers serialise.
type Scope struct {
	spec   *Spec
	vars   cty.Value // the var object
	locals cty.Value // the local object
	insts  map[string]*instState
	blocks map[string]*blockState
	plans  map[*Asset]*evalPlan
}

// instState is what the scope knows about one instance.
type instState struct {
	inst      *Instance
	inputs    map[string]cty.Value // nil until SetInputs
	result    Result
	hasResult bool
	obj       cty.Value // cached marked object; cty.NilVal when stale
}

// blockState groups the instances of one asset block.
type blockState struct {
	asset *Asset
	insts []*instState
	byKey map[string]*instState // for_each key, or count index in decimal
	full  cty.Value             // cached block value; cty.NilVal when stale
}

// NewScope returns a scope over instances (as returned by Expand).
func (s *Spec) NewScope(instances []*Instance) *Scope {
	locals := make(map[string]cty.Value, len(s.Locals))
	for k, v := range s.Locals {
		locals[k] = v
	}
	sc := &Scope{
		spec:   s,
		vars:   s.varObject(),
		locals: cty.ObjectVal(locals),
		insts:  make(map[string]*instState, len(instances)),
		blocks: make(map[string]*blockState, len(s.Assets)),
		plans:  map[*Asset]*evalPlan{},
	}
	for _, a := range s.Assets {
		sc.blocks[a.Addr()] = &blockState{asset: a, byKey: map[string]*instState{}}
	}
	for _, inst := range instances {
		st := &instState{inst: inst}
		sc.insts[inst.Addr] = st
		b := sc.blocks[inst.Asset.Addr()]
		if b == nil {
			continue
		}
		b.insts = append(b.insts, st)
		if inst.Key != cty.NilVal {
			b.byKey[keyString(inst.Key)] = st
		}
	}
	return sc
}

// keyString is the lookup form of an instance key.
func keyString(k cty.Value) string {
	if k.Type() == cty.String {
		return k.AsString()
	}
	return k.AsBigFloat().Text('f', -1)
}

// SetInputs records the evaluated parameters of inst (so downstream `KIND.NAME[K].prompt` works).
func (sc *Scope) SetInputs(addr string, params map[string]cty.Value) {
	st := sc.insts[addr]
	if st == nil {
		return
	}
	st.inputs = make(map[string]cty.Value, len(params))
	for k, v := range params {
		st.inputs[k] = v
	}
	sc.touch(st)
}

// SetResult records inst's results; unset results evaluate as unknown values of their type.
func (sc *Scope) SetResult(addr string, r Result) {
	st := sc.insts[addr]
	if st == nil {
		return
	}
	st.result, st.hasResult = r, true
	sc.touch(st)
}

func (sc *Scope) touch(st *instState) {
	st.obj = cty.NilVal
	if b := sc.blocks[st.inst.Asset.Addr()]; b != nil {
		b.full = cty.NilVal
	}
}

// object returns the instance's value, every attribute marked with its address.
func (st *instState) object() cty.Value {
	if st.obj != cty.NilVal {
		return st.obj
	}
	kind := st.inst.Asset.Kind
	mark := instMark(st.inst.Addr)
	attrs := make(map[string]cty.Value, 16)
	for _, p := range kindParams[kind] {
		v := cty.UnknownVal(p.Type)
		if st.inputs != nil {
			v = cty.NullVal(p.Type)
			if in, ok := st.inputs[p.Name]; ok && in != cty.NilVal {
				if conv, err := convert.Convert(in, p.Type); err == nil {
					v = conv
				} else {
					v = cty.UnknownVal(p.Type)
				}
			}
		}
		attrs[p.Name] = v
	}
	for name, v := range resultValues(kind, st.result) {
		attrs[name] = v
	}
	for name, v := range attrs {
		attrs[name] = v.Mark(mark)
	}
	st.obj = cty.ObjectVal(attrs)
	return st.obj
}

// resultValues converts a Result into attribute values; nil fields are unknown.
func resultValues(kind Kind, r Result) map[string]cty.Value {
	out := map[string]cty.Value{
		"task_id":    cty.UnknownVal(cty.String),
		"cost_cents": cty.UnknownVal(cty.Number),
	}
	if r.TaskID != nil {
		out["task_id"] = cty.StringVal(*r.TaskID)
	}
	if r.CostCents != nil {
		out["cost_cents"] = cty.NumberIntVal(int64(*r.CostCents))
	}
	if kind == KindText {
		out["content"] = cty.UnknownVal(cty.String)
		if r.Content != nil {
			out["content"] = cty.StringVal(*r.Content)
		}
		return out
	}
	out["url"], out["urls"] = listAndFirst(r.URLs)
	out["file"], out["files"] = listAndFirst(r.Files)
	return out
}

func listAndFirst(xs []string) (cty.Value, cty.Value) {
	if xs == nil {
		return cty.UnknownVal(cty.String), cty.UnknownVal(cty.List(cty.String))
	}
	if len(xs) == 0 {
		return cty.NullVal(cty.String), cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(xs))
	for i, x := range xs {
		vals[i] = cty.StringVal(x)
	}
	return vals[0], cty.ListVal(vals)
}

// fullValue returns the value of a whole block: an instance object, an
// object keyed by for_each key, or a tuple by count index.
func (b *blockState) fullValue() cty.Value {
	if b.full != cty.NilVal {
		return b.full
	}
	a := b.asset
	switch {
	case a.ForEach != nil:
		m := make(map[string]cty.Value, len(b.insts))
		for _, st := range b.insts {
			m[st.inst.Key.AsString()] = st.object()
		}
		b.full = cty.ObjectVal(m)
	case a.Count != nil:
		vals := make([]cty.Value, len(b.insts))
		for i, st := range b.insts {
			vals[i] = st.object()
		}
		b.full = cty.TupleVal(vals)
	case len(b.insts) == 1:
		b.full = b.insts[0].object()
	default:
		b.full = cty.DynamicVal
	}
	return b.full
}

// lookup finds the instance of b with key k (a string or a number).
func (b *blockState) lookup(k cty.Value) (*instState, bool) {
	want := cty.String
	if b.asset.Count != nil {
		want = cty.Number
	}
	if !k.IsWhollyKnown() || k.IsNull() {
		return nil, false
	}
	k, _ = k.UnmarkDeep()
	conv, err := convert.Convert(k, want)
	if err != nil || conv.IsNull() {
		return nil, false
	}
	if want == cty.Number {
		n, ok := wholeNumber(conv)
		if !ok {
			return nil, false
		}
		st, ok := b.byKey[strconv.Itoa(n)]
		return st, ok
	}
	st, ok := b.byKey[conv.AsString()]
	return st, ok
}

// Outputs evaluates every output block with the results known so far.
func (sc *Scope) Outputs() (map[string]cty.Value, hcl.Diagnostics) {
	kinds := map[Kind]map[string]cty.Value{}
	for _, a := range sc.spec.Assets {
		if kinds[a.Kind] == nil {
			kinds[a.Kind] = map[string]cty.Value{}
		}
		kinds[a.Kind][a.Name] = sc.blocks[a.Addr()].fullValue()
	}
	ctx := sc.context(nil, kinds)
	out := map[string]cty.Value{}
	var diags hcl.Diagnostics
	for _, o := range sc.spec.Outputs {
		if o.Value == nil || sc.spec.badExprs[o.Value] {
			out[o.Name] = cty.DynamicVal
			continue
		}
		v, more := o.Value.Value(ctx)
		diags = append(diags, more...)
		v, _ = v.UnmarkDeep()
		out[o.Name] = v
	}
	return out, diags
}

// context builds an evaluation context for inst (nil for outputs) with the
// given asset block values.
func (sc *Scope) context(inst *Instance, kinds map[Kind]map[string]cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{"var": sc.vars, "local": sc.locals}
	if inst != nil && inst.Asset.ForEach != nil {
		each := inst.Each
		if each == cty.NilVal {
			each = cty.DynamicVal
		}
		vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": inst.Key, "value": each})
	}
	if inst != nil && inst.Asset.Count != nil {
		vars["count"] = cty.ObjectVal(map[string]cty.Value{"index": inst.Key})
	}
	for _, k := range Kinds {
		if m, ok := kinds[k]; ok {
			vars[string(k)] = cty.ObjectVal(m)
		}
	}
	return &hcl.EvalContext{Variables: vars, Functions: sc.spec.functions}
}
