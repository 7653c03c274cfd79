package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// Documented API defaults, used so that writing a default explicitly does
// not count as a change of request.
const (
	DefaultTextModel   = "openai/gpt-4o"
	DefaultDuration    = 5
	DefaultAspectRatio = "16:9"
	defaultMaxTokens   = 1000
	defaultTemperature = 0.7
)

// Request is the resolved body of one generate call.
type Request struct {
	Kind  spec.Kind
	Text  *xpilot.TextRequest
	Image *xpilot.ImageRequest
	Video *xpilot.VideoRequest
}

// Body returns the request value that is sent as JSON.
func (r Request) Body() any {
	switch r.Kind {
	case spec.KindText:
		return r.Text
	case spec.KindImage:
		return r.Image
	default:
		return r.Video
	}
}

// Model returns the model the request names, with the text default applied.
func (r Request) Model() string {
	switch r.Kind {
	case spec.KindText:
		if r.Text.Model == "" {
			return DefaultTextModel
		}
		return r.Text.Model
	case spec.KindImage:
		return r.Image.Model
	default:
		return r.Video.Model
	}
}

// Duration returns the video duration with the API default applied, or 0
// for other kinds.
func (r Request) Duration() int {
	if r.Kind != spec.KindVideo {
		return 0
	}
	if r.Video.Duration == nil {
		return DefaultDuration
	}
	return *r.Video.Duration
}

// Hash is a stable digest of the request with documented defaults filled
// in, so that `duration = 5` and an omitted duration hash alike.
func (r Request) Hash() string {
	m := r.Normalized()
	b, err := json.Marshal(m) // map keys are sorted by encoding/json
	if err != nil {
		panic(fmt.Sprintf("planner: marshal normalized request: %v", err)) // only plain values inside
	}
	sum := sha256.Sum256(append([]byte(string(r.Kind)+"\n"), b...))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Normalized returns the request as a map with documented defaults filled
// in. It is what the hash covers and what state records for diffs.
func (r Request) Normalized() map[string]any {
	var m map[string]any
	b, _ := json.Marshal(r.Body())
	_ = json.Unmarshal(b, &m)
	return fillDefaults(r.Kind, m)
}

// fillDefaults sets the documented API defaults that m leaves out.
func fillDefaults(kind spec.Kind, m map[string]any) map[string]any {
	defaults := map[string]any{}
	switch kind {
	case spec.KindText:
		defaults = map[string]any{"model": DefaultTextModel, "max_tokens": float64(defaultMaxTokens), "temperature": defaultTemperature}
	case spec.KindVideo:
		defaults = map[string]any{"duration": float64(DefaultDuration), "aspect_ratio": DefaultAspectRatio}
	}
	for k, v := range defaults {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

// RequestFromParams converts evaluated, fully known parameters into a typed
// request. Parameters have already been converted to their declared types by
// the spec package; this only moves them into the wire structs.
func RequestFromParams(kind spec.Kind, params map[string]cty.Value) (Request, error) {
	g := getter{params: params}
	r := Request{Kind: kind}
	switch kind {
	case spec.KindText:
		r.Text = &xpilot.TextRequest{
			Model: g.str("model"), Prompt: g.str("prompt"), System: g.str("system"),
			MaxTokens: g.intp("max_tokens"), Temperature: g.floatp("temperature"),
		}
	case spec.KindImage:
		r.Image = &xpilot.ImageRequest{
			Model: g.str("model"), Prompt: g.str("prompt"), AspectRatio: g.str("aspect_ratio"),
			Mode: g.str("mode"), ImageURL: g.str("image_url"), ImageURLs: g.strs("image_urls"),
		}
	case spec.KindVideo:
		r.Video = &xpilot.VideoRequest{
			Model: g.str("model"), Prompt: g.str("prompt"), Duration: g.intp("duration"),
			AspectRatio: g.str("aspect_ratio"), ImageURL: g.str("image_url"),
			GenerateAudio: g.boolp("generate_audio"), LockCamera: g.boolp("lock_camera"),
		}
	default:
		return Request{}, fmt.Errorf("unknown asset kind %q", kind)
	}
	return r, g.err
}

// getter reads typed values out of a parameter map, remembering the first
// problem so conversions read as a flat list.
type getter struct {
	params map[string]cty.Value
	err    error
}

func (g *getter) get(name string, want cty.Type) (cty.Value, bool) {
	v, ok := g.params[name]
	if !ok || v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		g.fail(fmt.Errorf("%s is not known yet", name))
		return cty.NilVal, false
	}
	if !v.Type().Equals(want) {
		g.fail(fmt.Errorf("%s must be %s, got %s", name, want.FriendlyName(), v.Type().FriendlyName()))
		return cty.NilVal, false
	}
	return v, true
}

func (g *getter) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

func (g *getter) str(name string) string {
	if v, ok := g.get(name, cty.String); ok {
		return v.AsString()
	}
	return ""
}

func (g *getter) strs(name string) []string {
	v, ok := g.get(name, cty.List(cty.String))
	if !ok {
		return nil
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			g.fail(fmt.Errorf("%s must not contain null", name))
			continue
		}
		out = append(out, e.AsString())
	}
	return out
}

func (g *getter) intp(name string) *int {
	v, ok := g.get(name, cty.Number)
	if !ok {
		return nil
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact {
		g.fail(fmt.Errorf("%s must be a whole number, got %s", name, bf.Text('g', 10)))
		return nil
	}
	n := int(i)
	return &n
}

func (g *getter) floatp(name string) *float64 {
	v, ok := g.get(name, cty.Number)
	if !ok {
		return nil
	}
	f, _ := v.AsBigFloat().Float64()
	return &f
}

func (g *getter) boolp(name string) *bool {
	v, ok := g.get(name, cty.Bool)
	if !ok {
		return nil
	}
	b := v.True()
	return &b
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
