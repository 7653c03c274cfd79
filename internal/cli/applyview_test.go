package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
)

// quickCampaign has only synchronous generations, so -simulate applies it
// in well under a second.
const quickCampaign = `
variable "items" {
  type    = set(string)
  default = ["alpha", "beta"]
}
text "line" {
  for_each = var.items
  prompt   = "A line about ${each.key}"
}
image "card" {
  for_each = var.items
  model    = "bytedance/seedream-4.5"
  prompt   = text.line[each.key].content
}
`

func quickDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "q.xp.hcl"), []byte(quickCampaign), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	stampRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d+\.\ds  `)
	taskRE    = regexp.MustCompile(`\b(img|sd|ws|task)_[0-9a-f]+\b`)
	wallRE    = regexp.MustCompile(`Wall time: [^.]+(\.\d+)?s\.`)
	reqRE     = regexp.MustCompile(`API requests: \d+\.`)
	updateEnv = "UPDATE_GOLDEN"
)

// normalizeApply masks what varies between runs (times, task ids) and sorts
// the event lines, whose order depends on goroutine scheduling.
func normalizeApply(t *testing.T, out string) string {
	t.Helper()
	var events, rest []string
	sc := bufio.NewScanner(strings.NewReader(out))
	inSummary := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Apply ") {
			inSummary = true
		}
		switch {
		case !inSummary && stampRE.MatchString(line):
			events = append(events, "TIME ELAPSED  "+taskRE.ReplaceAllString(stampRE.ReplaceAllString(line, ""), "TASK"))
		case inSummary:
			line = wallRE.ReplaceAllString(line, "Wall time: WALL.")
			rest = append(rest, reqRE.ReplaceAllString(line, "API requests: N."))
		default:
			rest = append(rest, line)
		}
	}
	sort.Strings(events)
	return strings.Join(rest[:indexOf(rest, "Apply")], "\n") + "\n--- events (sorted) ---\n" +
		strings.Join(events, "\n") + "\n--- summary ---\n" + strings.Join(rest[indexOf(rest, "Apply"):], "\n") + "\n"
}

func indexOf(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return len(lines)
}

func TestApplyPlainOutputGolden(t *testing.T) {
	dir := quickDir(t)
	r := invocation{args: []string{"apply", "-simulate", "-auto-approve", dir}}.run(t)
	if r.code != 0 {
		t.Fatalf("apply exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "submitting") && !stampRE.MatchString(line) {
			t.Errorf("event line without a timestamp off a terminal: %q", line)
		}
	}
	got := normalizeApply(t, r.stdout)
	golden := filepath.Join("testdata", "golden", "apply_quick.txt")
	if os.Getenv(updateEnv) != "" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (regenerate with %s=1): %v", updateEnv, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("apply output (-want +got):\n%s", diff)
	}
}

// TestApplyJSONEvents checks the -json stream against its documented
// schema: every line one object, plan first, summary last, known fields
// only, and the summary's totals agreeing with the asset events.
func TestApplyJSONEvents(t *testing.T) {
	dir := quickDir(t)
	r := invocation{args: []string{"apply", "-simulate", "-auto-approve", "-json", dir}}.run(t)
	if r.code != 0 {
		t.Fatalf("apply -json exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	type event struct {
		Type string `json:"type"`
		// plan
		FormatVersion      string      `json:"format_version"`
		Assets             []jsonAsset `json:"assets"`
		EstimatedCostCents *int        `json:"estimated_cost_cents"`
		UnpricedAssets     *int        `json:"unpriced_assets"`
		CostBreakdown      []costRow   `json:"cost_breakdown"`
		// asset
		Time           string   `json:"time"`
		Address        string   `json:"address"`
		Phase          string   `json:"phase"`
		ElapsedSeconds *float64 `json:"elapsed_seconds"`
		Message        string   `json:"message"`
		CostCents      *int     `json:"cost_cents"`
		// summary
		Counts                map[string]int    `json:"counts"`
		ByOtherRunners        *int              `json:"by_other_runners"`
		ActualCostCents       *int              `json:"actual_cost_cents"`
		RemainingCreditsCents *int              `json:"remaining_credits_cents"`
		APIRequests           *int              `json:"api_requests"`
		WallSeconds           *float64          `json:"wall_seconds"`
		Interrupted           *bool             `json:"interrupted"`
		Failed                []jsonFailedAsset `json:"failed"`
		Expired               []jsonFailedAsset `json:"expired"`
	}
	var events []event
	for i, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var e event
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d is not a schema event: %v\n%s", i+1, err, line)
		}
		events = append(events, e)
	}
	if events[0].Type != "plan" || events[0].FormatVersion != "1" || len(events[0].Assets) != 4 {
		t.Fatalf("first event = %+v, want the plan with 4 assets", events[0])
	}
	last := events[len(events)-1]
	if last.Type != "summary" || last.Counts["done"] != 4 || last.ByOtherRunners == nil || *last.ByOtherRunners != 0 ||
		last.ActualCostCents == nil || last.APIRequests == nil || *last.Interrupted {
		t.Fatalf("last event = %+v, want a summary with 4 done", last)
	}
	spent, done := 0, map[string]bool{}
	validPhase := map[string]bool{}
	for _, p := range executor.Phases() {
		validPhase[string(p)] = true
	}
	for _, e := range events[1 : len(events)-1] {
		if e.Type != "asset" || e.Address == "" || !validPhase[e.Phase] || e.Time == "" || e.ElapsedSeconds == nil {
			t.Fatalf("bad asset event %+v", e)
		}
		if e.CostCents != nil {
			spent += *e.CostCents
		}
		if e.Phase == "done" {
			done[e.Address] = true
		}
	}
	if spent != *last.ActualCostCents || len(done) != 4 {
		t.Errorf("events charged %d cents for %d done assets; summary says %d cents", spent, len(done), *last.ActualCostCents)
	}
}
