package spec

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// expectedError is one "# ERROR: <summary>" marker in a fixture.
type expectedError struct {
	Line    int
	Summary string
}

// readMarkers returns the ERROR markers of a fixture file.
func readMarkers(t *testing.T, path string) []expectedError {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer f.Close()
	var out []expectedError
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if _, after, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
			out = append(out, expectedError{Line: line, Summary: strings.TrimSpace(after)})
		}
	}
	return out
}

// loadAll runs Load, Expand, BlockDeps, Eval of every instance in order
// and Outputs, and returns every diagnostic.
func loadAll(path string, opts LoadOptions) (*Spec, hcl.Diagnostics) {
	s, diags := Load(path, opts)
	insts, more := s.Expand()
	diags = append(diags, more...)
	_, more = s.BlockDeps()
	diags = append(diags, more...)
	sc := s.NewScope(insts)
	for _, inst := range insts {
		params, _, more := sc.Eval(inst)
		diags = append(diags, more...)
		sc.SetInputs(inst.Addr, params)
	}
	_, more = sc.Outputs()
	diags = append(diags, more...)
	return s, diags
}

func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("../../testdata/invalid/spec/*.xp.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := readMarkers(t, file)
			if len(want) == 0 {
				t.Fatal("fixture has no # ERROR: marker")
			}
			_, diags := loadAll(file, LoadOptions{})
			for _, w := range want {
				if !hasDiag(diags, file, w) {
					t.Errorf("want an error %q on line %d; got:\n%s", w.Summary, w.Line, formatDiags(diags))
				}
			}
		})
	}
}

func hasDiag(diags hcl.Diagnostics, file string, w expectedError) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && strings.Contains(d.Summary, w.Summary) &&
			d.Subject != nil && d.Subject.Start.Line == w.Line && d.Subject.Filename == file {
			return true
		}
	}
	return false
}

func formatDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		rng := "(no range)"
		if d.Subject != nil {
			rng = d.Subject.String()
		}
		fmt.Fprintf(&b, "  %s: %s; %s\n", rng, d.Summary, d.Detail)
	}
	return b.String()
}

func TestValidFixtures(t *testing.T) {
	files, err := filepath.Glob("../../testdata/valid/*.xp.hcl")
	if err != nil || len(files) < 2 {
		t.Fatalf("want at least two valid fixtures, got %d: %v", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, diags := loadAll(file, LoadOptions{})
			if diff := cmp.Diff("", formatDiags(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
