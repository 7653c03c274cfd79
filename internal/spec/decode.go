package spec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// fileSchema is the top-level schema of a spec file.
var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "xpflow"},
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: string(KindText), LabelNames: []string{"name"}},
		{Type: string(KindImage), LabelNames: []string{"name"}},
		{Type: string(KindVideo), LabelNames: []string{"name"}},
	},
}

var settingsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "output_dir"}, {Name: "max_cost_cents"},
}, Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}}}

var providerSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "base_url"}, {Name: "requests_per_minute"},
}}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
}}

var outputSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "value", Required: true}, {Name: "description"},
}}

// topBlocks keeps the settings and provider bodies of one file until
// variables and locals are known, since they may reference them.
type topBlocks struct {
	settings *hcl.BodyContent
	provider *hcl.BodyContent
}

// decodeBody decodes the top-level blocks of one file into s.
func (s *Spec) decodeBody(body hcl.Body) (*topBlocks, hcl.Diagnostics) {
	t := &topBlocks{}
	content, diags := body.Content(fileSchema)
	for _, block := range content.Blocks {
		switch block.Type {
		case "xpflow":
			c, more := s.decodeSettingsBlock(block)
			diags = append(diags, more...)
			if c != nil {
				t.settings = c
			}
		case "provider":
			c, more := s.decodeProviderBlock(block)
			diags = append(diags, more...)
			if c != nil {
				t.provider = c
			}
		case "variable":
			v, more := decodeVariableBlock(block)
			diags = append(diags, more...)
			diags = append(diags, s.addVariable(v)...)
		case "locals":
			diags = append(diags, s.decodeLocalsBlock(block)...)
		case "output":
			o, more := decodeOutputBlock(block)
			diags = append(diags, more...)
			diags = append(diags, s.addOutput(o)...)
		default:
			a, more := decodeAssetBlock(block)
			diags = append(diags, more...)
			diags = append(diags, s.addAsset(a)...)
		}
	}
	return t, diags
}

func (s *Spec) decodeSettingsBlock(block *hcl.Block) (*hcl.BodyContent, hcl.Diagnostics) {
	if s.Settings.DeclRange.Filename != "" {
		return nil, hcl.Diagnostics{duplicateDiag("xpflow block", "", s.Settings.DeclRange, block.DefRange)}
	}
	s.Settings.DeclRange = block.DefRange
	return block.Body.Content(settingsSchema)
}

func (s *Spec) decodeProviderBlock(block *hcl.Block) (*hcl.BodyContent, hcl.Diagnostics) {
	if block.Labels[0] != "xpilot" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported provider",
			Detail:   fmt.Sprintf("The only provider is \"xpilot\", not %q.", block.Labels[0]),
			Subject:  block.LabelRanges[0].Ptr(),
		}}
	}
	if s.Provider.DeclRange.Filename != "" {
		return nil, hcl.Diagnostics{duplicateDiag("provider block", "xpilot", s.Provider.DeclRange, block.DefRange)}
	}
	s.Provider.DeclRange = block.DefRange
	return block.Body.Content(providerSchema)
}

// decodeVariableBlock decodes a variable block; its Value is set later.
func decodeVariableBlock(block *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: block.Labels[0], Type: cty.DynamicPseudoType, DeclRange: block.DefRange}
	diags := checkName("variable", block)
	content, more := block.Body.Content(variableSchema)
	diags = append(diags, more...)
	var defaults *typeexpr.Defaults
	if attr, ok := content.Attributes["type"]; ok {
		ty, d, more := typeexpr.TypeConstraintWithDefaults(attr.Expr)
		diags = append(diags, more...)
		if !more.HasErrors() {
			v.Type, defaults = ty, d
		}
	}
	if attr, ok := content.Attributes["description"]; ok {
		diags = append(diags, decodeLiteral(attr, cty.String, &v.Description)...)
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, decodeLiteral(attr, cty.Bool, &v.Sensitive)...)
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, more := attr.Expr.Value(nil)
		diags = append(diags, more...)
		v.badDefault = more.HasErrors()
		if !more.HasErrors() {
			if defaults != nil {
				val = defaults.Apply(val)
			}
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				v.badDefault = true
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("The default of variable %q does not match its type %s: %s.", v.Name, typeexpr.TypeString(v.Type), err),
					Subject:  attr.Expr.Range().Ptr(),
				})
			} else {
				v.Default = conv
			}
		}
	}
	return v, diags
}

// decodeLiteral decodes a constant attribute of type ty into *dst (a *string or *bool).
func decodeLiteral(attr *hcl.Attribute, ty cty.Type, dst any) hcl.Diagnostics {
	val, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	conv, err := convert.Convert(val, ty)
	if err != nil || conv.IsNull() || !conv.IsKnown() {
		found := "null or unknown"
		if err != nil {
			found = err.Error()
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Argument %q must be a %s: %s.", attr.Name, ty.FriendlyName(), found),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	switch d := dst.(type) {
	case *string:
		*d = conv.AsString()
	case *bool:
		*d = conv.True()
	}
	return nil
}

func (s *Spec) addVariable(v *Variable) hcl.Diagnostics {
	if old, ok := s.Variables[v.Name]; ok {
		return hcl.Diagnostics{duplicateDiag("variable", v.Name, old.DeclRange, v.DeclRange)}
	}
	s.Variables[v.Name] = v
	return nil
}

func (s *Spec) decodeLocalsBlock(block *hcl.Block) hcl.Diagnostics {
	attrs, diags := block.Body.JustAttributes()
	for _, name := range sortedAttrNames(attrs) {
		attr := attrs[name]
		if old, ok := s.localExprs[name]; ok {
			diags = append(diags, duplicateDiag("local value", name, old.Range, attr.NameRange))
			continue
		}
		s.localExprs[name] = attr
	}
	return diags
}

func decodeOutputBlock(block *hcl.Block) (*Output, hcl.Diagnostics) {
	o := &Output{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName("output", block)
	content, more := block.Body.Content(outputSchema)
	diags = append(diags, more...)
	if attr, ok := content.Attributes["value"]; ok {
		o.Value = attr.Expr
	}
	return o, diags
}

func (s *Spec) addOutput(o *Output) hcl.Diagnostics {
	for _, old := range s.Outputs {
		if old.Name == o.Name {
			return hcl.Diagnostics{duplicateDiag("output", o.Name, old.DeclRange, o.DeclRange)}
		}
	}
	s.Outputs = append(s.Outputs, o)
	return nil
}

// checkName reports a block label that is not a valid identifier.
func checkName(what string, block *hcl.Block) hcl.Diagnostics {
	if hclsyntax.ValidIdentifier(block.Labels[0]) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid name",
		Detail: fmt.Sprintf("The %s name %q is not valid: a name must start with a letter or underscore "+
			"and may contain only letters, digits, underscores and dashes.", what, block.Labels[0]),
		Subject: block.LabelRanges[0].Ptr(),
	}}
}

func duplicateDiag(what, name string, first, again hcl.Range) *hcl.Diagnostic {
	label := what
	if name != "" {
		label = fmt.Sprintf("%s %q", what, name)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + what,
		Detail:   fmt.Sprintf("The %s was already declared at %s; names must be unique.", label, first),
		Subject:  again.Ptr(),
	}
}
