package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

const scopeSpec = `
variable "products" {
  default = { aurora = "Aurora", "b\"x" = "Bx" }
}
text "hook" {
  for_each = var.products
  prompt   = "hook ${each.value}"
}
image "hero" {
  for_each = var.products
  model    = "m"
  prompt   = "${text.hook[each.key].content} / ${text.hook[each.key].prompt}"
}
image "pick" {
  count  = 2
  model  = "m"
  prompt = count.index == 0 ? image.hero["aurora"].url : "static"
}
video "all" {
  model      = "m"
  prompt     = "n=${length(image.hero)}"
  image_url  = image.pick[1].url
  depends_on = [text.hook["aurora"]]
}
output "urls" { value = { for k, v in image.hero : k => v.url } }
`

// loadScope loads src and returns the spec, its instances by address and a scope.
func loadScope(t testing.TB, src string) (*Spec, map[string]*Instance, *Scope) {
	t.Helper()
	s, diags := Load(writeSpec(t.(*testing.T), map[string]string{"a.xp.hcl": src}), LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags)
	}
	insts, diags := s.Expand()
	if diags.HasErrors() {
		t.Fatalf("Expand: %s", diags)
	}
	by := map[string]*Instance{}
	for _, in := range insts {
		by[in.Addr] = in
	}
	return s, by, s.NewScope(insts)
}

func TestExpandAddrs(t *testing.T) {
	s, _, _ := loadScope(t, scopeSpec)
	insts, _ := s.Expand()
	var got []string
	for _, in := range insts {
		got = append(got, in.Addr)
	}
	want := []string{
		`text.hook["aurora"]`, `text.hook["b\"x"]`,
		`image.hero["aurora"]`, `image.hero["b\"x"]`,
		`image.pick[0]`, `image.pick[1]`,
		`video.all`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
}

func TestEvalDeps(t *testing.T) {
	tests := map[string]struct {
		addr string
		want []string
	}{
		"for_each key reaches one instance": {`image.hero["b\"x"]`, []string{`text.hook["b\"x"]`}},
		"conditional taken branch":          {`image.pick[0]`, []string{`image.hero["aurora"]`}},
		"conditional untaken branch":        {`image.pick[1]`, []string{`image.hero["aurora"]`}},
		"length depends on every instance, depends_on adds one": {
			`video.all`, []string{`image.hero["aurora"]`, `image.hero["b\"x"]`, `image.pick[1]`, `text.hook["aurora"]`},
		},
		"no references": {`text.hook["aurora"]`, []string{}},
	}
	_, by, sc := loadScope(t, scopeSpec)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, got, diags := sc.Eval(by[tc.addr])
			if diags.HasErrors() {
				t.Fatalf("Eval: %s", diags)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("deps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvalUnknownThenKnown(t *testing.T) {
	_, by, sc := loadScope(t, scopeSpec)
	hook := by[`text.hook["aurora"]`]
	params, _, diags := sc.Eval(hook)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sc.SetInputs(hook.Addr, params)
	hero := by[`image.hero["aurora"]`]

	params, _, _ = sc.Eval(hero)
	if params["prompt"].IsKnown() {
		t.Errorf("prompt before the hook result: got %#v, want unknown", params["prompt"])
	}
	content := "Loud city, quiet ears"
	sc.SetResult(hook.Addr, Result{Content: &content})
	params, _, _ = sc.Eval(hero)
	want := cty.StringVal("Loud city, quiet ears / hook Aurora")
	if got := params["prompt"]; !got.RawEquals(want) {
		t.Errorf("prompt: got %#v, want %#v", got, want)
	}
	if params["prompt"].ContainsMarked() {
		t.Error("params still carry marks")
	}
}

func TestOutputs(t *testing.T) {
	_, _, sc := loadScope(t, scopeSpec)
	sc.SetResult(`image.hero["aurora"]`, Result{URLs: []string{"https://cdn/a.png", "https://cdn/b.png"}})
	out, diags := sc.Outputs()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	urls := out["urls"]
	if got, want := urls.GetAttr("aurora"), cty.StringVal("https://cdn/a.png"); !got.RawEquals(want) {
		t.Errorf("urls.aurora: got %#v, want %#v", got, want)
	}
	if urls.GetAttr(`b"x`).IsKnown() {
		t.Errorf("urls[b\"x]: got %#v, want unknown", urls.GetAttr(`b"x`))
	}
}

func TestEvalNoInstanceCount(t *testing.T) {
	_, by, sc := loadScope(t, `
text "t" {
  count  = 2
  prompt = "p"
}
text "u" { prompt = text.t[5].content }`)
	_, _, diags := sc.Eval(by["text.u"])
	if got, want := summaries(diags), []string{"No instance text.t[5]"}; !cmp.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestQuoteKey(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":    {"aurora", `"aurora"`},
		"quote":    {`a"b`, `"a\"b"`},
		"newline":  {"a\nb", `"a\nb"`},
		"template": {"${x}", `"$${x}"`},
		"unicode":  {"é", `"é"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := QuoteKey(tc.in); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			// the quoted form must parse back to the key
			expr, diags := hclParse(tc.want)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if v, _ := expr.Value(nil); v.AsString() != tc.in {
				t.Errorf("round trip: got %q, want %q", v.AsString(), tc.in)
			}
		})
	}
}

func hclParse(src string) (hcl.Expression, hcl.Diagnostics) {
	return hclsyntaxParse([]byte(src))
}

func hclsyntaxParse(src []byte) (hcl.Expression, hcl.Diagnostics) {
	return hclsyntax.ParseExpression(src, "key", hcl.InitialPos)
}
