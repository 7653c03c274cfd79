package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnknownAddressesFail: a typo in -target or -replace fails the plan
// and names the closest address; a block address and an instance address
// both match.
func TestUnknownAddressesFail(t *testing.T) {
	cat := simCatalog(t)
	sp := writeSpec(t, t.TempDir(), chainSpec)
	tests := map[string]struct {
		opts Options
		want []string // error details, in order
	}{
		"block and instance match": {opts: Options{Targets: []string{"video.spot"}, Replace: []string{`image.hero["a"]`}}},
		"replace typo":             {opts: Options{Replace: []string{"video.spots"}}, want: []string{"-replace video.spots names no asset of this spec. Did you mean -replace video.spot?"}},
		"target typo":              {opts: Options{Targets: []string{`image.heor["b"]`}}, want: []string{`-target image.heor["b"] names no asset of this spec. Did you mean -target image.hero["b"]?`}},
		"unquoted key":             {opts: Options{Replace: []string{"text.hook[a]"}}, want: []string{`-replace text.hook[a] names no asset of this spec. Did you mean -replace text.hook["a"]?`}},
		"one of two wrong":         {opts: Options{Targets: []string{"video.spot", "nothing.like.it.at.all"}}, want: []string{"-target nothing.like.it.at.all names no asset of this spec. Run 'xpflow plan' to list the addresses."}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Catalog = cat
			_, diags := Build(sp, tc.opts)
			var got []string
			for _, d := range diags {
				got = append(got, d.Detail)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
