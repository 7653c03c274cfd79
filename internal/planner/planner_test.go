package planner

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// simCatalog fetches the simulator's catalog over HTTP, the way plan does.
func simCatalog(t *testing.T) *xpilot.Catalog {
	t.Helper()
	run, err := sim.Start("")
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { run.Close() })
	c, err := xpilot.New(xpilot.Config{BaseURL: run.URL, APIKey: run.Key})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := c.Models(context.Background())
	if err != nil {
		t.Fatalf("models: %v", err)
	}
	if got := run.Server.Counters().Requests; got != 1 {
		t.Fatalf("fetching the catalog took %d requests, want 1", got)
	}
	return cat
}

type marker struct {
	line    int
	summary string
}

func markers(t *testing.T, path string) []marker {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []marker
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if _, after, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
			out = append(out, marker{line, strings.TrimSpace(after)})
		}
	}
	return out
}

func TestInvalidPlanFixtures(t *testing.T) {
	cat := simCatalog(t)
	files, _ := filepath.Glob("../../testdata/invalid/plan/*.xp.hcl")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			sp, diags := spec.Load(file, spec.LoadOptions{})
			if diags.HasErrors() {
				t.Fatalf("fixture must load cleanly; got %s", diags.Error())
			}
			_, diags = Build(sp, Options{Catalog: cat})
			for _, m := range markers(t, file) {
				found := false
				for _, d := range diags {
					if d.Severity == hcl.DiagError && strings.Contains(d.Summary, m.summary) &&
						d.Subject != nil && d.Subject.Start.Line == m.line {
						found = true
					}
				}
				if !found {
					t.Errorf("want %q on line %d, got: %v", m.summary, m.line, diags)
				}
			}
		})
	}
}

func TestUnknownModelSuggestsNearest(t *testing.T) {
	cat := simCatalog(t)
	sp, _ := spec.Load("../../testdata/invalid/plan/unknown_model.xp.hcl", spec.LoadOptions{})
	_, diags := Build(sp, Options{Catalog: cat})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, `Did you mean "seedance-2.0/text-to-video"`) {
		t.Fatalf("want a did-you-mean naming seedance-2.0/text-to-video, got %v", diags)
	}
}

func TestDefaultDurationSuggestsAllowed(t *testing.T) {
	cat := simCatalog(t)
	sp, _ := spec.Load("../../testdata/invalid/plan/default_duration.xp.hcl", spec.LoadOptions{})
	_, diags := Build(sp, Options{Catalog: cat})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "default of 5 s") || !strings.Contains(diags[0].Detail, "4, 8, 12") {
		t.Fatalf("want the default-duration error listing 4, 8, 12, got %v", diags)
	}
}
