package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// writeSpec writes files into a fresh directory and returns it.
func writeSpec(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Summary)
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	tests := map[string]struct {
		setup       func(t *testing.T) string
		wantSummary string
		wantDetail  string // substring, e.g. the path named
	}{
		"empty directory": {
			setup:       func(t *testing.T) string { return writeSpec(t, map[string]string{"notes.txt": "x"}) },
			wantSummary: "No spec files",
			wantDetail:  "contains no *.xp.hcl files",
		},
		"missing path": {
			setup:       func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			wantSummary: "Cannot read spec",
			wantDetail:  "nope",
		},
		"unreadable file (a directory named like a spec)": {
			setup: func(t *testing.T) string {
				dir := writeSpec(t, map[string]string{"a.xp.hcl": `text "a" { prompt = "p" }`})
				if err := os.Mkdir(filepath.Join(dir, "x.xp.hcl"), 0o755); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantSummary: "Cannot read spec file",
			wantDetail:  "x.xp.hcl",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := Load(tc.setup(t), LoadOptions{})
			assertDiag(t, diags, tc.wantSummary, tc.wantDetail)
		})
	}
}

func assertDiag(t *testing.T, diags hcl.Diagnostics, summary, detail string) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == hcl.DiagError && strings.Contains(d.Summary, summary) && strings.Contains(d.Detail, detail) {
			return
		}
	}
	t.Errorf("got %q, want an error %q with detail containing %q", summaries(diags), summary, detail)
}

// TestLoadUnreadableFile: a spec file whose read fails gives a diagnostic
// naming the file and the cause. chmod 000 cannot make a file unreadable
// to root (CI may run as root); a link to /proc/self/mem opens as a
// regular file and fails its first read for any user.
func TestLoadUnreadableFile(t *testing.T) {
	if _, err := os.Stat("/proc/self/mem"); err != nil {
		t.Skipf("no /proc/self/mem (not Linux) to make an unreadable file: %v", err)
	}
	dir := writeSpec(t, map[string]string{"a.xp.hcl": `text "a" { prompt = "p" }`})
	if err := os.Symlink("/proc/self/mem", filepath.Join(dir, "b.xp.hcl")); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(dir, LoadOptions{})
	assertDiag(t, diags, "Cannot read spec file", "b.xp.hcl: read")
	assertDiag(t, diags, "Cannot read spec file", "input/output error")
}

func TestLoadDirectory(t *testing.T) {
	dir := writeSpec(t, map[string]string{
		"b.xp.hcl": `image "b" {
  model  = "m"
  prompt = text.a.content
}`,
		"a.xp.hcl": `text "a" { prompt = "p" }
xpflow { output_dir = "gen/${var.sub}" }
variable "sub" { default = "x" }
provider "xpilot" { requests_per_minute = 10 }`,
		"ignored.hcl": `this is not read`,
	})
	s, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags)
	}
	var got []string
	for _, a := range s.Assets {
		got = append(got, a.Addr())
	}
	if diff := cmp.Diff([]string{"text.a", "image.b"}, got); diff != "" {
		t.Errorf("assets in file order (-want +got):\n%s", diff)
	}
	if got, want := s.Settings.OutputDir, filepath.Join(s.Dir, "gen", "x"); got != want {
		t.Errorf("OutputDir: got %q, want %q", got, want)
	}
	if got, want := s.Provider.RequestsPerMinute, 10; got != want {
		t.Errorf("RequestsPerMinute: got %d, want %d", got, want)
	}
	if got, want := len(s.Files), 2; got != want {
		t.Errorf("Files: got %d, want %d", got, want)
	}
}

func TestLoadDefaults(t *testing.T) {
	dir := writeSpec(t, map[string]string{"a.xp.hcl": `text "a" { prompt = "p" }`})
	s, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags)
	}
	if got, want := s.Settings.OutputDir, filepath.Join(s.Dir, "out"); got != want {
		t.Errorf("OutputDir: got %q, want %q", got, want)
	}
	if s.Settings.MaxCostCents != nil || s.Provider.BaseURL != "" || s.Provider.RequestsPerMinute != 0 {
		t.Errorf("got settings %+v provider %+v, want all unset", s.Settings, s.Provider)
	}
}

func TestLocalsOrder(t *testing.T) {
	dir := writeSpec(t, map[string]string{"a.xp.hcl": `
locals { c = "${local.b}!" }
locals {
  a = upper(var.v)
  b = "${local.a}-${length(local.list)}"
  list = [1, 2]
}
variable "v" { default = "hi" }
text "a" { prompt = local.c }`})
	s, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags)
	}
	if got, want := s.Locals["c"], cty.StringVal("HI-2!"); !got.RawEquals(want) {
		t.Errorf("local.c: got %#v, want %#v", got, want)
	}
}
