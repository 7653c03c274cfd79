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

const secretKey = "xp_live_SECRET_key_123"

// confinedSpec is a campaign directory spec/ beside a file outside it,
// with links in spec/ pointing in and out. The test runs in the parent,
// as a user would: xpflow plan spec.
func confinedSpec(t *testing.T, local string) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(root, "spec")
	for _, d := range []string{spec, filepath.Join(spec, "prompts")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(root, "outside.txt"):             "secret notes",
		filepath.Join(spec, "prompts", "hook.txt"):     "a hook",
		filepath.Join(spec, "prompts", "keyed.txt"):    "key is " + secretKey + ".",
		filepath.Join(spec, "prompts", "hook.tmpl"):    "Hook for ${name}",
		filepath.Join(root, "outside.tmpl"):            "outside ${name}",
		filepath.Join(root, "outside-key.txt"):         "XPILOT_API_KEY=" + secretKey + "\x00HOME=/root",
		filepath.Join(spec, "main.xp.hcl"):             "locals {\n  x = " + local + "\n}\n",
		filepath.Join(spec, "prompts", "environ.tmpl"): "${file(\"/proc/self/environ\")}",
	}
	for p, src := range files {
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		filepath.Join(spec, "escape.txt"):  "../outside.txt",
		filepath.Join(spec, "environ"):     "/proc/self/environ",
		filepath.Join(spec, "inside.txt"):  "prompts/hook.txt",
		filepath.Join(spec, "promptslink"): "prompts",
	}
	for p, target := range links {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	return "spec"
}

func TestFileFunctionsStayInTheSpecDirectory(t *testing.T) {
	tests := map[string]struct {
		local        string
		allowOutside bool
		want         string // the value of local.x, when allowed
		wantErr      string // a fragment of the diagnostic's detail
	}{
		"relative file":              {local: `file("prompts/hook.txt")`, want: "a hook"},
		"./ prefix":                  {local: `file("./prompts/hook.txt")`, want: "a hook"},
		"link inside":                {local: `file("inside.txt")`, want: "a hook"},
		"linked directory inside":    {local: `file("promptslink/hook.txt")`, want: "a hook"},
		"down and back up":           {local: `file("prompts/../prompts/hook.txt")`, want: "a hook"},
		"template inside":            {local: `templatefile("prompts/hook.tmpl", {name = "n"})`, want: "Hook for n"},
		"proc environ":               {local: `file("/proc/self/environ")`, wantErr: "/proc/self/environ is an absolute path"},
		"absolute path":              {local: `file("/etc/hostname")`, wantErr: "is an absolute path"},
		"dot-dot escape":             {local: `file("../outside.txt")`, wantErr: "outside the spec directory"},
		"deep dot-dot escape":        {local: `file("prompts/../../outside.txt")`, wantErr: "outside the spec directory"},
		"link escape":                {local: `file("escape.txt")`, wantErr: "is a link that leads to"},
		"link to proc environ":       {local: `file("environ")`, wantErr: "outside the spec directory"},
		"missing file outside":       {local: `file("../nope.txt")`, wantErr: "outside the spec directory"},
		"template outside":           {local: `templatefile("../outside.tmpl", {name = "n"})`, wantErr: "outside the spec directory"},
		"template reading environ":   {local: `templatefile("prompts/environ.tmpl", {})`, wantErr: "is an absolute path"},
		"allowed: dot-dot":           {local: `file("../outside.txt")`, allowOutside: true, want: "secret notes"},
		"allowed: link escape":       {local: `file("escape.txt")`, allowOutside: true, want: "secret notes"},
		"key in a file is redacted":  {local: `file("prompts/keyed.txt")`, want: "key is [REDACTED]."},
		"allowed: outside, redacted": {local: `file("../outside-key.txt")`, allowOutside: true, want: "XPILOT_API_KEY=[REDACTED]\x00HOME=/root"},
		"key in a template":          {local: `templatefile("prompts/keyed.txt", {})`, want: "key is [REDACTED]."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := confinedSpec(t, tc.local)
			sp, diags := Load(dir, LoadOptions{AllowOutsideFiles: tc.allowOutside, Secrets: []string{secretKey}})
			if tc.wantErr != "" {
				var found *hcl.Diagnostic
				for _, d := range diags {
					if d.Severity == hcl.DiagError && strings.Contains(d.Detail, tc.wantErr) {
						found = d
					}
				}
				if found == nil {
					t.Fatalf("diagnostics %v, want an error containing %q", diags, tc.wantErr)
				}
				if found.Subject == nil || found.Subject.Start.Line != 2 || !strings.HasSuffix(found.Subject.Filename, "main.xp.hcl") {
					t.Errorf("diagnostic subject %v, want main.xp.hcl line 2", found.Subject)
				}
				if strings.Contains(found.Detail, secretKey) {
					t.Errorf("the diagnostic shows the key: %s", found.Detail)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("Load: %v", diags)
			}
			if diff := cmp.Diff(tc.want, sp.Locals["x"].AsString()); diff != "" {
				t.Errorf("local.x (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputDirStaysInTheSpecDirectory(t *testing.T) {
	tests := map[string]struct {
		dir          string
		allowOutside bool
		want         string // the output directory relative to the spec directory, when accepted
		wantErr      string // the diagnostic's summary, when refused
	}{
		"default name":           {dir: "out", want: "out"},
		"nested":                 {dir: "gen/v1", want: "gen/v1"},
		"spec directory itself":  {dir: ".", want: "."},
		"down and back":          {dir: "a/../out", want: "out"},
		"root":                   {dir: "/", wantErr: "Invalid output directory"},
		"root, even if allowed":  {dir: "/", allowOutside: true, wantErr: "Invalid output directory"},
		"root by dot-dots":       {dir: strings.Repeat("../", 64), allowOutside: true, wantErr: "Invalid output directory"},
		"parent":                 {dir: "..", wantErr: "Output directory outside the spec directory"},
		"sibling":                {dir: "../elsewhere", wantErr: "Output directory outside the spec directory"},
		"absolute elsewhere":     {dir: "/tmp", wantErr: "Output directory outside the spec directory"},
		"sibling, allowed":       {dir: "../elsewhere", allowOutside: true, want: "../elsewhere"},
		"dot-dot prefix in name": {dir: "..out", want: "..out"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeSpec(t, map[string]string{"main.xp.hcl": "xpflow {\n  output_dir = \"" + tc.dir + "\"\n}\n"})
			sp, diags := Load(dir, LoadOptions{AllowOutsideFiles: tc.allowOutside})
			if tc.wantErr != "" {
				if len(diags) != 1 || diags[0].Summary != tc.wantErr || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
					t.Fatalf("diagnostics %v, want one %q on line 2", diags, tc.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("Load: %v", diags)
			}
			rel, err := filepath.Rel(sp.Dir, sp.Settings.OutputDir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, filepath.ToSlash(rel)); diff != "" {
				t.Errorf("output directory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVariablesHoldingTheKeyAreRedacted: a variable set to a value holding
// the key, from any source, reaches prompts with [REDACTED] instead.
func TestVariablesHoldingTheKeyAreRedacted(t *testing.T) {
	dir := writeSpec(t, map[string]string{
		"main.xp.hcl":     "variable \"a\" {}\nvariable \"b\" { type = list(string) }\nvariable \"c\" {}\n",
		"xpflow.vars.hcl": "c = \"file: " + secretKey + "\"\n",
	})
	env := map[string]string{"XPFLOW_VAR_b": `["x", "k=` + secretKey + `"]`}
	sp, diags := Load(dir, LoadOptions{
		Vars:    []string{"a=" + secretKey},
		Getenv:  func(k string) string { return env[k] },
		Environ: []string{"XPFLOW_VAR_b=" + env["XPFLOW_VAR_b"]},
		Secrets: []string{secretKey},
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := []string{sp.Variables["a"].Value.AsString(), sp.Variables["b"].Value.Index(cty.NumberIntVal(1)).AsString(), sp.Variables["c"].Value.AsString()}
	want := []string{"[REDACTED]", "k=[REDACTED]", "file: [REDACTED]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("variable values (-want +got):\n%s", diff)
	}
}

// TestOutputDirThroughALinkStaysInTheSpecDirectory: output_dir's text
// was checked, not where it leads, so out -> /elsewhere was accepted and
// apply wrote and swept there.
func TestOutputDirThroughALinkStaysInTheSpecDirectory(t *testing.T) {
	tests := map[string]struct {
		outputDir string
		link      string // what the spec directory's "out" links to: "outside" or "inside"
		wantErr   bool
	}{
		"link to a directory outside":         {outputDir: "out", link: "outside", wantErr: true},
		"below a link to a directory outside": {outputDir: "out/v1", link: "outside", wantErr: true},
		"link to a directory inside":          {outputDir: "out", link: "inside"},
		"below a link to a directory inside":  {outputDir: "out/v1", link: "inside"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeSpec(t, map[string]string{"main.xp.hcl": "xpflow {\n  output_dir = \"" + tc.outputDir + "\"\n}\n"})
			target := filepath.Join(t.TempDir(), "elsewhere")
			if tc.link == "inside" {
				target = filepath.Join(dir, "media")
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, "out")); err != nil {
				t.Fatal(err)
			}
			_, diags := Load(dir, LoadOptions{})
			if !tc.wantErr {
				if diags.HasErrors() {
					t.Fatalf("Load: %v", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != "Output directory outside the spec directory" ||
				!strings.Contains(diags[0].Detail, "symbolic link") || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
				t.Fatalf("diagnostics %v, want one saying a symbolic link leads outside, on line 2", diags)
			}
			if _, diags := Load(dir, LoadOptions{AllowOutsideFiles: true}); diags.HasErrors() {
				t.Errorf("with -allow-outside-files: %v", diags)
			}
		})
	}
}
