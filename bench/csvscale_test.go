package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/planner"
)

// TestPlanCSVCatalog plans 100,000 instances from a 50,000-row CSV catalog
// through toset and through the map form. Through toset this took 35 s
// before tolist/toset/tomap built homogeneous collections directly.
func TestPlanCSVCatalog(t *testing.T) {
	cat := catalogOnce(t)
	rows := 50_000
	if raceEnabled {
		rows = 5_000
	}
	for _, form := range []CatalogForm{FormToset, FormMap} {
		t.Run(string(form), func(t *testing.T) {
			dir, err := WriteCatalogSpec(t.TempDir(), rows, form)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			plan, err := LoadAndPlan(dir, cat)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s form: %d instances planned in %s", form, len(plan.Nodes), time.Since(start).Round(time.Millisecond))
			if len(plan.Nodes) != 2*rows {
				t.Fatalf("got %d nodes, want %d", len(plan.Nodes), 2*rows)
			}
			byAddr := map[string]*planner.Node{}
			for _, n := range plan.Nodes {
				byAddr[n.Addr] = n
			}
			for _, sku := range []string{"sku-000000", fmt.Sprintf("sku-%06d", rows/2), fmt.Sprintf("sku-%06d", rows-1)} {
				img := byAddr[`image.hero["`+sku+`"]`]
				if img == nil || byAddr[`text.caption["`+sku+`"]`] == nil {
					t.Fatalf("no text.caption and image.hero for %s", sku)
				}
				if len(img.Deps) != 1 || img.Deps[0] != `text.caption["`+sku+`"]` {
					t.Errorf("image.hero[%q] depends on %v, want its caption", sku, img.Deps)
				}
			}
		})
	}
}
