package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestDeepNestingIsRefusedBeforeParsing: 100,000 nested "[" crashed the
// process with a fatal stack overflow, and 200,000 nested "${" parsed for
// over a minute. Both must be refused at once with a diagnostic at the
// place the limit was passed.
func TestDeepNestingIsRefusedBeforeParsing(t *testing.T) {
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	// The local's value starts at column 7 of line 2, inside the locals
	// block's braces (level 1); the diagnostic points at the opener of
	// level MaxNesting+1.
	tests := map[string]struct {
		local   string
		wantCol int // the column of the diagnostic on line 2, or 0 when the spec is valid
	}{
		"100,000 brackets": {local: deep("[", "]", 100000), wantCol: 7 + MaxNesting - 1},
		// `"` opens even levels, `${` odd ones, 3 bytes per two levels.
		"200,000 interpolations": {local: `"` + deep(`${"`, `"}`, 200000), wantCol: 8 + 3*(MaxNesting-2)/2},
		// "{", "[" and "(" open three levels per 5 bytes.
		"mixed brackets":              {local: deep("{a=[(", ")]}", 100000), wantCol: 7 + 5*(MaxNesting-1)/3},
		"just under the limit":        {local: deep("[", "]", MaxNesting-1)},
		"brackets inside strings":     {local: `"` + strings.Repeat("[{(", 10000) + `"`},
		"escaped interpolations":      {local: `"` + strings.Repeat("$${", 10000) + `"`},
		"brackets in a heredoc":       {local: "<<EOT\n" + strings.Repeat("[", 10000) + "\nEOT\n"},
		"brackets in a comment":       {local: "1 # " + strings.Repeat("[", 10000) + "\n"},
		"brackets in a block comment": {local: "/* " + strings.Repeat("[", 10000) + " */ 1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeSpec(t, map[string]string{"main.xp.hcl": "locals {\n  x = " + tc.local + "\n}\n"})
			start := time.Now()
			_, diags := Load(dir, LoadOptions{})
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Load took %s", took) // reported, not a timed assertion of speed: a hang shows here
			}
			if tc.wantCol == 0 {
				if diags.HasErrors() {
					t.Fatalf("Load: %v", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != "Nesting too deep" || diags[0].Subject == nil {
				t.Fatalf("diagnostics %v, want one \"Nesting too deep\" with a range", diags)
			}
			got := diags[0].Subject.Start
			if diff := cmp.Diff(hcl.Pos{Line: 2, Column: tc.wantCol}, hcl.Pos{Line: got.Line, Column: got.Column}); diff != "" {
				t.Errorf("diagnostic position (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOversizedSpecFileIsRefused(t *testing.T) {
	dir := writeSpec(t, map[string]string{"main.xp.hcl": "# " + strings.Repeat("x", MaxSourceBytes) + "\n"})
	_, diags := Load(dir, LoadOptions{})
	assertDiag(t, diags, "File too large", "main.xp.hcl")
}

func TestDeepTemplateFileIsRefused(t *testing.T) {
	dir := writeSpec(t, map[string]string{
		"main.xp.hcl": "locals {\n  x = templatefile(\"t.tmpl\", {})\n}\n",
		"t.tmpl":      strings.Repeat("${[", 50000),
	})
	_, diags := Load(dir, LoadOptions{})
	assertDiag(t, diags, "Error in function call", "Nesting too deep")
}

func TestDeepVarFileIsRefused(t *testing.T) {
	dir := writeSpec(t, map[string]string{"main.xp.hcl": "variable \"v\" {}\n"})
	vf := filepath.Join(t.TempDir(), "deep.hcl")
	if err := os.WriteFile(vf, []byte("v = "+strings.Repeat("[", 100000)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(dir, LoadOptions{VarFiles: []string{vf}})
	assertDiag(t, diags, "Nesting too deep", "")
}
