package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPlanExplainsCostsAndReasons applies the quick campaign, changes one
// prompt, and checks that plan says what was spent, what the change adds
// at observed prices, and why each asset is regenerated.
func TestPlanExplainsCostsAndReasons(t *testing.T) {
	dir := quickDir(t)
	if r := runArgs(t, "apply", "-simulate", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	path := filepath.Join(dir, "q.xp.hcl")
	src, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), "A line about", "One line on", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runArgs(t, "plan", "-simulate", "-json", dir)
	if r.code != 0 {
		t.Fatalf("plan -json: exit %d\n%s", r.code, r.stderr)
	}
	var p jsonPlan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatal(err)
	}
	have := map[string]assetWhy{}
	for _, a := range p.Assets {
		have[a.Address] = assetWhy{a.Action, a.Reason, a.PriceSource, a.Changes}
	}
	want := map[string]assetWhy{
		`text.line["alpha"]`: {"replace", "the request changed: prompt", "observed",
			[]jsonChange{{Attribute: "prompt", Before: `"A line about alpha"`, After: `"One line on alpha"`}}},
		`text.line["beta"]`: {"replace", "the request changed: prompt", "observed",
			[]jsonChange{{Attribute: "prompt", Before: `"A line about beta"`, After: `"One line on beta"`}}},
		`image.card["alpha"]`: {"replace", `an upstream output will change: text.line["alpha"]`, "observed",
			[]jsonChange{{Attribute: "prompt", Before: firstBefore(have[`image.card["alpha"]`]), After: "(known after apply)"}}},
		`image.card["beta"]`: {"replace", `an upstream output will change: text.line["beta"]`, "observed",
			[]jsonChange{{Attribute: "prompt", Before: firstBefore(have[`image.card["beta"]`]), After: "(known after apply)"}}},
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("plan -json reasons (-want +got):\n%s", diff)
	}
	wantRows := []costRow{
		{Kind: "image", Model: "bytedance/seedream-4.5", SpentCents: 10, ChangeCents: 10, ChangeObserved: 10, Generations: 2},
		{Kind: "text", Model: "openai/gpt-4o", SpentCents: 2, ChangeCents: 2, ChangeObserved: 2, Generations: 2},
	}
	if diff := cmp.Diff(wantRows, p.CostBreakdown); diff != "" {
		t.Errorf("cost breakdown (-want +got):\n%s", diff)
	}

	human := runArgs(t, "plan", "-simulate", dir)
	for _, line := range []string{
		"  image  bytedance/seedream-4.5  $0.10  +$0.10  $0.20      observed",
		"  text   openai/gpt-4o           $0.02  +$0.02  $0.04      observed",
		"  total                          $0.12  +$0.12  $0.24      observed",
		"Estimated cost: $0.12 ($0.12 observed in earlier runs, $0.00 from the catalog).",
	} {
		if !strings.Contains(human.stdout, line+"\n") {
			t.Errorf("plan lacks the line %q:\n%s", line, human.stdout)
		}
	}
}

// assetWhy is what plan -json says about one asset's action.
type assetWhy struct {
	Action, Reason, PriceSource string
	Changes                     []jsonChange
}

// firstBefore is the recorded value the first change starts from, which
// the simulator wrote; the test takes it as given.
func firstBefore(a assetWhy) string {
	if len(a.Changes) == 0 {
		return ""
	}
	return a.Changes[0].Before
}

// TestValidateCountsInGoodEnglish: "1 asset instance", not "1 asset
// instances".
func TestValidateCountsInGoodEnglish(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "one.xp.hcl"), []byte("text \"hook\" {\n  prompt = \"p\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runArgs(t, "validate", dir)
	if r.code != 0 || r.stdout != "The spec is valid: 1 asset instance.\n" {
		t.Errorf("validate of one asset: exit %d, %q", r.code, r.stdout)
	}
}
