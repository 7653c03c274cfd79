package spec

import (
	"fmt"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Backend is a backend "postgres" block inside the xpflow block: the spec's
// state lives in a Postgres campaign instead of the local state file.
type Backend struct {
	Type     string // "postgres"
	ConnStr  string // "" when unset; XPFLOW_BACKEND_CONN overrides it
	Campaign string // the name the state is stored under
	// ConnRange is where conn_str is written, for messages; zero if unset.
	ConnRange hcl.Range
	DeclRange hcl.Range
}

var postgresBackendSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "conn_str"}, {Name: "campaign", Required: true},
}}

// evalBackends decodes the backend blocks of the xpflow block: at most one,
// of type "postgres".
func (s *Spec) evalBackends(ctx *hcl.EvalContext, blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, block := range blocks {
		if s.Settings.Backend != nil {
			diags = append(diags, duplicateDiag("backend block", "", s.Settings.Backend.DeclRange, block.DefRange))
			continue
		}
		if block.Labels[0] != "postgres" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported backend",
				Detail:   fmt.Sprintf("The only backend is \"postgres\", not %q; without a backend block the state is the local file.", block.Labels[0]),
				Subject:  block.LabelRanges[0].Ptr(),
			})
			continue
		}
		content, more := block.Body.Content(postgresBackendSchema)
		diags = append(diags, more...)
		if more.HasErrors() {
			continue
		}
		b := &Backend{Type: "postgres", DeclRange: block.DefRange}
		if attr, ok := content.Attributes["conn_str"]; ok {
			if v, more := s.evalSetting(ctx, attr, cty.String); v != cty.NilVal {
				b.ConnStr, b.ConnRange = v.AsString(), attr.Expr.Range()
			} else {
				diags = append(diags, more...)
			}
		}
		attr := content.Attributes["campaign"]
		if v, more := s.evalSetting(ctx, attr, cty.String); v != cty.NilVal {
			b.Campaign = v.AsString()
			if !validCampaign(b.Campaign) {
				diags = append(diags, diag(attr.Expr.Range().Ptr(), "Invalid campaign name",
					fmt.Sprintf("campaign must be 1 to 200 printable characters, not %q.", b.Campaign))...)
			}
		} else {
			diags = append(diags, more...)
		}
		s.Settings.Backend = b
	}
	return diags
}

func validCampaign(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
