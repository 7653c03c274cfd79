package spec

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Param describes one API parameter an asset kind accepts.
type Param struct {
	Name     string
	Type     cty.Type
	Required bool
	Whole    bool // numbers must be whole
}

// kindParams lists, per kind, exactly the parameters of its generate endpoint.
var kindParams = map[Kind][]Param{
	KindText: {
		{Name: "model", Type: cty.String},
		{Name: "prompt", Type: cty.String, Required: true},
		{Name: "system", Type: cty.String},
		{Name: "max_tokens", Type: cty.Number, Whole: true},
		{Name: "temperature", Type: cty.Number},
	},
	KindImage: {
		{Name: "model", Type: cty.String, Required: true},
		{Name: "prompt", Type: cty.String, Required: true},
		{Name: "aspect_ratio", Type: cty.String},
		{Name: "mode", Type: cty.String},
		{Name: "image_url", Type: cty.String},
		{Name: "image_urls", Type: cty.List(cty.String)},
	},
	KindVideo: {
		{Name: "model", Type: cty.String, Required: true},
		{Name: "prompt", Type: cty.String, Required: true},
		{Name: "duration", Type: cty.Number, Whole: true},
		{Name: "aspect_ratio", Type: cty.String},
		{Name: "image_url", Type: cty.String},
		{Name: "generate_audio", Type: cty.Bool},
		{Name: "lock_camera", Type: cty.Bool},
	},
}

// Params returns the API parameters accepted by kind, in documentation order.
func Params(kind Kind) []Param { return kindParams[kind] }

func paramOf(kind Kind, name string) (Param, bool) {
	for _, p := range kindParams[kind] {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Meta-arguments every asset block accepts besides its parameters.
const (
	metaForEach   = "for_each"
	metaCount     = "count"
	metaDependsOn = "depends_on"
)

// assetSchemas is the body schema of each asset kind.
var assetSchemas = func() map[Kind]*hcl.BodySchema {
	m := map[Kind]*hcl.BodySchema{}
	for kind, ps := range kindParams {
		s := &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: metaForEach}, {Name: metaCount}, {Name: metaDependsOn},
		}}
		for _, p := range ps {
			s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: p.Name, Required: p.Required})
		}
		m[kind] = s
	}
	return m
}()

// resultAttrs lists the result attributes of an instance object, per kind.
var resultAttrs = map[Kind]map[string]cty.Type{
	KindText: {"content": cty.String, "task_id": cty.String, "cost_cents": cty.Number},
	KindImage: {
		"url": cty.String, "urls": cty.List(cty.String), "file": cty.String,
		"files": cty.List(cty.String), "task_id": cty.String, "cost_cents": cty.Number,
	},
	KindVideo: {
		"url": cty.String, "urls": cty.List(cty.String), "file": cty.String,
		"files": cty.List(cty.String), "task_id": cty.String, "cost_cents": cty.Number,
	},
}

// instanceAttrNames returns every attribute an instance of kind exposes, sorted.
func instanceAttrNames(kind Kind) []string {
	var names []string
	for n := range resultAttrs[kind] {
		names = append(names, n)
	}
	for _, p := range kindParams[kind] {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// resultsPhrase describes the result attributes of kind for diagnostics.
func resultsPhrase(kind Kind) string {
	if kind == KindText {
		return "text assets have content, task_id, cost_cents and their inputs"
	}
	return string(kind) + " assets have url, urls, file, files, task_id, cost_cents and their inputs (" +
		strings.Join(paramNames(kind), ", ") + ")"
}

func paramNames(kind Kind) []string {
	var out []string
	for _, p := range kindParams[kind] {
		out = append(out, p.Name)
	}
	return out
}
