package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDidYouMean checks the suggestion each kind of misspelling gets, not
// only that it is an error.
func TestDidYouMean(t *testing.T) {
	tests := map[string]struct {
		src  string
		want string
	}{
		"attribute": {
			src:  "text \"hook\" {\n  promt = \"hi\"\n}\n",
			want: `Did you mean "prompt"?`,
		},
		"variable": {
			src:  "variable \"products\" {\n  default = { a = \"x\" }\n}\ntext \"hook\" {\n  for_each = var.prodcts\n  prompt   = \"hi\"\n}\n",
			want: `Did you mean "products"?`,
		},
		"asset": {
			src:  "text \"hook\" {\n  prompt = \"hi\"\n}\ntext \"other\" {\n  prompt = text.hok.content\n}\n",
			want: `Did you mean "hook"?`,
		},
		"result attribute": {
			src:  "text \"hook\" {\n  prompt = \"hi\"\n}\ntext \"other\" {\n  prompt = text.hook.contnt\n}\n",
			want: `Did you mean "content"?`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.xp.hcl")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := loadAll(path, LoadOptions{})
			for _, d := range diags {
				if strings.Contains(d.Detail, tc.want) {
					return
				}
			}
			t.Errorf("want a diagnostic saying %s, got:\n%s", tc.want, formatDiags(diags))
		})
	}
}
