package spec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Kind is the kind of an asset block: text, image or video.
type Kind string

// The asset kinds, one per generate endpoint of the xPilot API.
const (
	KindText  Kind = "text"
	KindImage Kind = "image"
	KindVideo Kind = "video"
)

// Kinds lists every asset kind in a stable order.
var Kinds = []Kind{KindText, KindImage, KindVideo}

// IsKind reports whether name is an asset kind.
func IsKind(name string) bool {
	_, ok := kindParams[Kind(name)]
	return ok
}

// LoadOptions carries the command-line and environment inputs of Load.
type LoadOptions struct {
	Vars     []string            // -var name=value, in order
	VarFiles []string            // -var-file paths, in order (relative to cwd)
	Getenv   func(string) string // nil: no env vars; for XPFLOW_VAR_*
	Environ  []string            // os.Environ() style list, to find XPFLOW_VAR_* names
	// AllowOutsideFiles lets file() and templatefile() read, and
	// output_dir name, paths outside the spec directory
	// (-allow-outside-files).
	AllowOutsideFiles bool
	// Secrets are replaced by Redacted wherever a spec reads a file, so
	// the API key cannot reach a prompt. Empty strings are ignored.
	Secrets []string
}

// Spec is a decoded, validated campaign.
type Spec struct {
	Dir       string               // the spec directory (absolute)
	Files     map[string]*hcl.File // for hcl.NewDiagnosticTextWriter
	Settings  Settings
	Provider  Provider
	Variables map[string]*Variable // with final Value
	Locals    map[string]cty.Value // evaluated
	Assets    []*Asset             // declaration order (files sorted by name)
	Outputs   []*Output

	assetByAddr map[string]*Asset
	localExprs  map[string]*hcl.Attribute
	functions   funcTable
	reader      *fileReader // file() and templatefile(); knows the secrets
	// allowOutside is LoadOptions.AllowOutsideFiles.
	allowOutside bool
	// badExprs holds expressions whose references Load already reported as
	// errors; Expand, Eval and Outputs skip them instead of reporting again.
	badExprs map[hcl.Expression]bool
}

// Settings is the optional xpflow block.
type Settings struct {
	OutputDir    string   // absolute, default Dir/out
	MaxCostCents *int     // nil when unset
	Backend      *Backend // nil: the local state file
	DeclRange    hcl.Range
	// MaxCostRange is where max_cost_cents is set, for diagnostics about it.
	MaxCostRange hcl.Range
}

// Provider is the optional provider "xpilot" block.
type Provider struct {
	BaseURL           string // "" when unset
	RequestsPerMinute int    // 0 = unset
	DeclRange         hcl.Range
}

// Variable is a variable block and its final value.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type
	Default     cty.Value // cty.NilVal when there is no default
	Sensitive   bool
	Value       cty.Value
	DeclRange   hcl.Range

	badDefault bool // a default was given but is invalid (already reported)
}

// Output is an output block; its value is evaluated by Scope.Outputs.
type Output struct {
	Name      string
	Value     hcl.Expression
	DeclRange hcl.Range
}

// Asset is one text, image or video block.
type Asset struct {
	Kind      Kind
	Name      string
	ForEach   hcl.Expression            // nil when absent
	Count     hcl.Expression            // nil when absent
	DependsOn []Ref                     // parsed depends_on entries
	Params    map[string]*hcl.Attribute // API parameters as written
	DeclRange hcl.Range
}

// Addr returns the asset's config address, such as "video.spot".
func (a *Asset) Addr() string { return string(a.Kind) + "." + a.Name }

// Ref is a reference to an asset block, optionally to one of its instances.
type Ref struct {
	Kind  Kind
	Name  string
	Key   cty.Value // cty.NilVal if none
	Range hcl.Range
}

// Addr returns the referenced asset's config address, such as "image.hero".
func (r Ref) Addr() string { return string(r.Kind) + "." + r.Name }

// Instance is one expanded asset: for_each key, count index, or the single instance.
type Instance struct {
	Asset *Asset
	Key   cty.Value // cty.NilVal (single), a cty.String (for_each) or a cty.Number (count)
	Each  cty.Value // each.value for for_each, else NilVal
	Addr  string    // video.spot, video.spot["aurora"], video.spot[0]
}

// Result is what an asset instance produced (known after apply). Nil fields = unknown.
type Result struct {
	Content   *string
	URLs      []string // nil = unknown
	Files     []string // nil = unknown
	TaskID    *string
	CostCents *int
}
