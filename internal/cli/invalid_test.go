package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// marker is the error a fixture expects: a "# ERROR: <summary>" comment
// on the offending line.
type marker struct {
	line    int
	summary string
}

func readMarker(t *testing.T, path string) marker {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []marker
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, after, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
			found = append(found, marker{line: n, summary: strings.TrimSpace(after)})
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: got %d '# ERROR:' markers, want exactly 1", path, len(found))
	}
	return found[0]
}

// TestInvalidFixtures plans every file under testdata/invalid against a
// simulator and checks that xpflow fails with exit 1 and a diagnostic that
// names the marked summary, file and line.
func TestInvalidFixtures(t *testing.T) {
	// extra names what the detail must also say, beyond the summary.
	extra := map[string][]string{
		"unknown_model.xp.hcl":    {`Did you mean "bytedance/seedream-4.5"?`},
		"cycle.xp.hcl":            {"image.a -> video.b -> text.c -> image.a"},
		"bad_duration.xp.hcl":     {"asks for 7 s", "4, 8, 12"},
		"missing_required.xp.hcl": {`"model" is required`},
		"bad_output_attr.xp.hcl":  {`text.hook has no attribute "url"`},
		"unknown_var.xp.hcl":      {`"product"`},
		"over_budget.xp.hcl":      {"estimated at $4.80, above max_cost_cents = 100 ($1.00)"},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.xp.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/invalid: %v", err)
	}
	_, env := startSim(t)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			m := readMarker(t, path)
			state := filepath.Join(t.TempDir(), "state.json")
			got := invocation{args: []string{"plan", "-state", state, path}, env: env}.run(t)
			if got.code != ExitError {
				t.Fatalf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, ExitError, got.stdout, got.stderr)
			}
			wants := append([]string{
				"Error: " + m.summary,
				fmt.Sprintf("on %s line %d", path, m.line),
			}, extra[name]...)
			for _, want := range wants {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
				}
			}
			if got.stdout != "" {
				t.Errorf("stdout: got %q, want nothing when the spec is invalid", got.stdout)
			}
		})
	}
}

// TestBadInput covers mistakes that are not in a spec file: bad options,
// directories without specs and files that cannot be read.
func TestBadInput(t *testing.T) {
	unreadable := t.TempDir()
	writeFile(t, unreadable, "main.xp.hcl", "text \"hook\" {\n  prompt = \"p\"\n}\n")
	if err := os.Mkdir(filepath.Join(unreadable, "x.xp.hcl"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	// A spec file whose read fails. chmod 000 would do only for a user
	// other than root (CI may run as root); a link to /proc/self/mem
	// opens as a regular file and fails its first read for anyone.
	noRead := t.TempDir()
	if err := os.Symlink("/proc/self/mem", filepath.Join(noRead, "main.xp.hcl")); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args []string
		want []string
	}{
		"file that cannot be read": {args: []string{"validate", noRead},
			want: []string{"Error: Cannot read spec file", "main.xp.hcl", "input/output error"}},
		"var without equals": {args: []string{"validate", "-var", "nope", "testdata/quick"},
			want: []string{"Error: Invalid -var option", `-var "nope" is not of the form name=value`}},
		"var of an undeclared name": {args: []string{"validate", "-var", "nope=1", "testdata/quick"},
			want: []string{"Error: Undeclared variable", `variable "nope", which is not declared`}},
		"var of the wrong type": {args: []string{"validate", "-var", "products=7", "testdata/quick"},
			want: []string{"Error: Invalid value for variable", `"products" must be map(string)`}},
		"var file missing": {args: []string{"validate", "-var-file", "testdata/none.hcl", "testdata/quick"},
			want: []string{"Error: Cannot read variables file", "testdata/none.hcl does not exist"}},
		"empty directory": {args: []string{"validate", empty},
			want: []string{"Error: No spec files", "contains no *.xp.hcl files"}},
		"missing directory": {args: []string{"plan", "-simulate", "testdata/nowhere"},
			want: []string{"Error: Cannot read spec", "testdata/nowhere", "no such file or directory"}},
		"directory named like a spec": {args: []string{"validate", unreadable},
			want: []string{"Error: Cannot read spec file", "x.xp.hcl", "is a directory"}},
		"state is a directory": {args: []string{"plan", "-simulate", "-state", empty, "testdata/quick"},
			want: []string{"reading state " + empty, "is a directory"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(name, "cannot be read") {
				if _, err := os.Stat("/proc/self/mem"); err != nil {
					t.Skipf("no /proc/self/mem (not Linux) to make an unreadable file: %v", err)
				}
			}
			got := runArgs(t, tc.args...)
			if got.code != ExitError {
				t.Fatalf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, ExitError, got.stdout, got.stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
				}
			}
		})
	}
}
