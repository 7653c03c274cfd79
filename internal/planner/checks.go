package planner

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// blockOrder returns asset config addresses so that each comes after every
// asset it references, keeping declaration order where there is a choice.
func blockOrder(sp *spec.Spec) ([]string, hcl.Diagnostics) {
	deps, diags := sp.BlockDeps()
	if diags.HasErrors() {
		return nil, diags
	}
	done := map[string]bool{}
	var order []string
	for len(order) < len(sp.Assets) {
		progressed := false
		for _, a := range sp.Assets {
			addr := a.Addr()
			if done[addr] || !allDone(deps[addr], done) {
				continue
			}
			done[addr] = true
			order = append(order, addr)
			progressed = true
		}
		if !progressed {
			// BlockDeps reports cycles; this only guards against a spec bug.
			return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency cycle",
				Detail: "The assets depend on each other in a cycle."})
		}
	}
	return order, diags
}

func allDone(refs []spec.Ref, done map[string]bool) bool {
	for _, r := range refs {
		if !done[string(r.Kind)+"."+r.Name] {
			return false
		}
	}
	return true
}

// paramRange is the range of a parameter, or of the block when it is unset.
func paramRange(n *Node, name string) *hcl.Range {
	if a, ok := n.Instance.Asset.Params[name]; ok {
		r := a.Expr.Range()
		return &r
	}
	r := n.Instance.Asset.DeclRange
	return &r
}

func knownString(params map[string]cty.Value, name string) (string, bool) {
	v, ok := params[name]
	if !ok || v.IsNull() || !v.IsKnown() || !v.Type().Equals(cty.String) {
		return "", false
	}
	return v.AsString(), true
}

func knownBool(params map[string]cty.Value, name string) bool {
	v, ok := params[name]
	return ok && !v.IsNull() && v.IsKnown() && v.Type().Equals(cty.Bool) && v.True()
}

// checkModel validates the node against the catalog: what the API would
// reject, caught before any credit is spent.
func (b *builder) checkModel(n *Node) hcl.Diagnostics {
	id, ok := knownString(n.Params, "model")
	if !ok {
		if _, set := n.Params["model"]; set && !n.Params["model"].IsNull() {
			return diag(n, "model", "Model must be known at plan time",
				"The model of %s depends on a value that is only known after apply; the plan could not price or check it.", n.Addr)
		}
		id = DefaultTextModel // only text may omit it: spec requires it elsewhere
	}
	n.Model = id
	cat := b.opts.Catalog
	if cat == nil {
		return nil
	}
	m, found := cat.Lookup(id)
	if !found {
		return diag(n, "model", "Unknown model", "%s uses model %q, which the catalog does not list.%s",
			n.Addr, id, suggest(id, cat.All()))
	}
	if m.Type != string(n.Kind) {
		return diag(n, "model", "Wrong model type", "%s is %s %s asset but %q is %s %s model.%s",
			n.Addr, article(string(n.Kind)), n.Kind, id, article(m.Type), m.Type, suggest(id, ofType(cat, string(n.Kind))))
	}
	var diags hcl.Diagnostics
	switch n.Kind {
	case spec.KindVideo:
		diags = append(diags, checkVideo(n, m)...)
	case spec.KindImage:
		mode, _ := knownString(n.Params, "mode")
		if (mode == "i2i" || mode == "i2i_text") && !isSet(n.Params, "image_url") && !isSet(n.Params, "image_urls") {
			diags = append(diags, diag(n, "mode", "Missing image_url", "%s uses mode %q, which edits an image: set image_url.", n.Addr, mode)...)
		}
	}
	return diags
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func isSet(params map[string]cty.Value, name string) bool {
	v, ok := params[name]
	return ok && !v.IsNull()
}

func checkVideo(n *Node, m xpilot.Model) hcl.Diagnostics {
	var diags hcl.Diagnostics
	dur := DefaultDuration
	durSet := false
	if v, ok := n.Params["duration"]; ok && !v.IsNull() && v.IsKnown() {
		f, _ := v.AsBigFloat().Int64()
		dur, durSet = int(f), true
	}
	if len(m.Durations) > 0 && !containsInt(m.Durations, dur) {
		detail := fmt.Sprintf("%s asks for %d s but %s supports %s.", n.Addr, dur, m.ID, joinInts(m.Durations))
		if !durSet {
			detail = fmt.Sprintf("%s sets no duration, so the API default of %d s applies, but %s supports only %s. Set duration to one of them.",
				n.Addr, DefaultDuration, m.ID, joinInts(m.Durations))
		}
		diags = append(diags, diag(n, "duration", "Unsupported duration", "%s", detail)...)
	}
	if knownBool(n.Params, "lock_camera") && !m.SupportsLockCamera {
		diags = append(diags, diag(n, "lock_camera", "lock_camera not supported", "%s does not support lock_camera; remove it or choose a model that does.", m.ID)...)
	}
	if knownBool(n.Params, "generate_audio") && !m.SupportsAudio {
		diags = append(diags, diag(n, "generate_audio", "generate_audio not supported", "%s does not generate audio; remove generate_audio or choose a model that does.", m.ID)...)
	}
	if m.Mode == "image-to-video" && !isSet(n.Params, "image_url") {
		diags = append(diags, diag(n, "image_url", "Missing image_url", "%s is an image-to-video model: %s must set image_url.", m.ID, n.Addr)...)
	}
	return diags
}

func diag(n *Node, param, summary, format string, args ...any) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: paramRange(n, param)}}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

func ofType(cat *xpilot.Catalog, typ string) []xpilot.Model {
	var out []xpilot.Model
	for _, m := range cat.All() {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// suggest names the closest model ids, for did-you-mean messages.
func suggest(id string, models []xpilot.Model) string {
	type cand struct {
		id string
		d  float64
	}
	var cands []cand
	for _, m := range models {
		d := levenshtein.Distance(strings.ToLower(id), strings.ToLower(m.ID), nil)
		if d <= len(m.ID)/2+2 || strings.Contains(m.ID, id) {
			cands = append(cands, cand{m.ID, float64(d)})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		return cands[i].d < cands[j].d || (cands[i].d == cands[j].d && cands[i].id < cands[j].id)
	})
	if len(cands) == 0 {
		return ""
	}
	if len(cands) > 3 {
		cands = cands[:3]
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = strconv.Quote(c.id)
	}
	return " Did you mean " + strings.Join(names, " or ") + "?"
}

// PriceKey is the key of observed prices and latencies for a model call:
// the video duration, or "" for other kinds.
func PriceKey(kind spec.Kind, duration int) string {
	if kind != spec.KindVideo {
		return ""
	}
	return strconv.Itoa(duration)
}

// estimate prices one node: observed charges first, then the catalog.
func (b *builder) estimate(n *Node) Cost {
	dur := DefaultDuration
	if v, ok := n.Params["duration"]; ok && !v.IsNull() && v.IsKnown() {
		f, _ := v.AsBigFloat().Int64()
		dur = int(f)
	}
	if ms := b.state.Models[n.Model]; ms != nil {
		if pr := ms.Prices[PriceKey(n.Kind, dur)]; pr != nil {
			return Cost{Cents: pr.Cents, Priced: true, Observed: true}
		}
	}
	if n.Kind != spec.KindVideo || b.opts.Catalog == nil {
		return Cost{}
	}
	m, ok := b.opts.Catalog.Lookup(n.Model)
	if !ok {
		return Cost{}
	}
	cents, ok := xpilot.VideoCostCents(m, dur)
	return Cost{Cents: cents, Priced: ok}
}

// diffRequest lists parameters whose normalized value differs from the
// prior record's request.
func diffRequest(prior *state.Asset, now map[string]any) []Change {
	if prior == nil || prior.Request == nil {
		return nil
	}
	var out []Change
	keys := map[string]bool{}
	for k := range prior.Request {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		o, n := render(prior.Request[k]), render(now[k])
		if o != n {
			out = append(out, Change{Param: k, Old: o, New: n})
		}
	}
	return out
}

// unknownMarker stands for a value known only after apply in diffs.
const unknownMarker = "(known after apply)"

type unknownValue struct{}

// unknownNormalized is Request.Normalized for parameters some of which are
// not known yet.
func unknownNormalized(kind spec.Kind, params map[string]cty.Value) map[string]any {
	out := map[string]any{}
	for k, v := range params {
		if v.IsNull() {
			continue
		}
		if !v.IsWhollyKnown() {
			out[k] = unknownValue{}
			continue
		}
		out[k] = ctyToAny(v)
	}
	return fillDefaults(kind, out)
}

func ctyToAny(v cty.Value) any {
	switch {
	case v.Type().Equals(cty.String):
		return v.AsString()
	case v.Type().Equals(cty.Bool):
		return v.True()
	case v.Type().Equals(cty.Number):
		f, _ := v.AsBigFloat().Float64()
		return f
	case v.Type().IsListType() || v.Type().IsTupleType():
		var out []any
		for _, e := range v.AsValueSlice() {
			out = append(out, ctyToAny(e))
		}
		return out
	}
	return v.GoString()
}

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "(unset)"
	case unknownValue:
		return unknownMarker
	case string:
		return strconv.Quote(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
