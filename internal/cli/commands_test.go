package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const launchDir = "../../examples/launch"

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		dir        string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		"launch example": {dir: launchDir, wantCode: 0, wantStdout: "The spec is valid: 9 asset instances.\n"},
		"quick":          {dir: "testdata/quick", wantCode: 0, wantStdout: "The spec is valid: 4 asset instances.\n"},
		"syntax error": {dir: "testdata/invalid/syntax.xp.hcl", wantCode: 1,
			wantStderr: "Error: Argument or block definition required"},
		"cycle": {dir: "testdata/invalid/cycle.xp.hcl", wantCode: 1, wantStderr: "Error: Dependency cycle"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := runArgs(t, "validate", tc.dir)
			if got.code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d\nstderr:\n%s", got.code, tc.wantCode, got.stderr)
			}
			if tc.wantStdout != "" {
				if diff := cmp.Diff(tc.wantStdout, got.stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(got.stderr, tc.wantStderr) {
				t.Errorf("stderr: got\n%s\nwant it to contain %q", got.stderr, tc.wantStderr)
			}
		})
	}
}

// TestPlanGolden compares the human plan of examples/launch with a golden
// file; UPDATE_GOLDEN=1 rewrites it.
func TestPlanGolden(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "state.json")
	got := runArgs(t, "plan", "-simulate", "-state", statePath, launchDir)
	if got.code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", got.code, got.stderr)
	}
	golden := filepath.Join("testdata", "golden", "plan_launch.txt")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with UPDATE_GOLDEN=1 to create it): %v", err)
	}
	if bytes.Contains(want, []byte("\x1b[")) {
		t.Errorf("golden file %s holds ANSI escapes", golden)
	}
	if diff := cmp.Diff(string(want), got.stdout); diff != "" {
		t.Errorf("plan output (-want +got), UPDATE_GOLDEN=1 to accept:\n%s", diff)
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Errorf("plan wrote the state file %s (stat error %v); plan must not write state", statePath, err)
	}
}

// planContract mirrors the documented plan -json format; decoding into it
// with DisallowUnknownFields fails on any field the contract does not name.
type planContract struct {
	FormatVersion      string          `json:"format_version"`
	Assets             []assetContract `json:"assets"`
	EstimatedCostCents int             `json:"estimated_cost_cents"`
	UnpricedAssets     int             `json:"unpriced_assets"`
	CostBreakdown      []costRow       `json:"cost_breakdown"`
}

type assetContract struct {
	Address            string   `json:"address"`
	Kind               string   `json:"kind"`
	Model              string   `json:"model"`
	Action             string   `json:"action"`
	EstimatedCostCents *int     `json:"estimated_cost_cents"`
	DependsOn          []string `json:"depends_on"`
	Reason             string   `json:"reason"`
	Changes            []struct {
		Attribute string `json:"attribute"`
		Before    string `json:"before"`
		After     string `json:"after"`
	} `json:"changes"`
	PriceSource string `json:"price_source"`
}

func decodePlan(t *testing.T, s string) planContract {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var p planContract
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode plan -json: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("plan -json printed more than one JSON value:\n%s", s)
	}
	return p
}

func TestPlanJSON(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "state.json")
	got := runArgs(t, "plan", "-simulate", "-json", "-state", statePath, launchDir)
	if got.code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", got.code, got.stderr)
	}
	// Keys that must be present even when null or empty.
	for _, key := range []string{`"estimated_cost_cents": null`, `"depends_on": []`, `"unpriced_assets": 6`, `"changes": []`} {
		if !strings.Contains(got.stdout, key) {
			t.Errorf("plan -json lacks %s:\n%s", key, got.stdout)
		}
	}
	p := decodePlan(t, got.stdout)
	cents := func(c int) *int { return &c }
	want := planContract{FormatVersion: "1", EstimatedCostCents: 1440, UnpricedAssets: 6, CostBreakdown: []costRow{
		{Kind: "image", Model: "bytedance/seedream-4.5", ChangeUnpriced: 3, Generations: 3},
		{Kind: "text", Model: "openai/gpt-4o", ChangeUnpriced: 3, Generations: 3},
		{Kind: "video", Model: "seedance-2.0/image-to-video", ChangeCents: 1440, Generations: 3},
	}}
	for _, k := range []string{"aurora", "nimbus", "vesper"} {
		want.Assets = append(want.Assets, assetContract{Address: `text.hook["` + k + `"]`, Kind: "text",
			Model: "openai/gpt-4o", Action: "create", DependsOn: []string{}, Reason: "not generated yet", PriceSource: "none"})
	}
	for _, k := range []string{"aurora", "nimbus", "vesper"} {
		want.Assets = append(want.Assets, assetContract{Address: `image.hero["` + k + `"]`, Kind: "image",
			Model: "bytedance/seedream-4.5", Action: "create", DependsOn: []string{`text.hook["` + k + `"]`},
			Reason: "not generated yet", PriceSource: "none"})
	}
	for _, k := range []string{"aurora", "nimbus", "vesper"} {
		want.Assets = append(want.Assets, assetContract{Address: `video.spot["` + k + `"]`, Kind: "video",
			Model: "seedance-2.0/image-to-video", Action: "create", EstimatedCostCents: cents(480),
			DependsOn: []string{`image.hero["` + k + `"]`}, Reason: "not generated yet", PriceSource: "catalog"})
	}
	if diff := cmp.Diff(want, p, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("plan -json (-want +got):\n%s", diff)
	}
}

func TestPlanDetailedExitcode(t *testing.T) {
	_, env := startSim(t)
	dir := copyDir(t, "testdata/quick")
	plan := invocation{args: []string{"plan", "-detailed-exitcode", dir}, env: env}

	got := plan.run(t)
	if got.code != ExitChanges {
		t.Fatalf("before apply: exit code got %d, want %d\nstderr:\n%s", got.code, ExitChanges, got.stderr)
	}
	if !strings.Contains(got.stdout, "Plan: 4 to create.") {
		t.Errorf("before apply: stdout lacks the summary line:\n%s", got.stdout)
	}
	ap := invocation{args: []string{"apply", "-auto-approve", dir}, env: env}.run(t)
	if ap.code != 0 {
		t.Fatalf("apply: exit code got %d, want 0\nstdout:\n%s\nstderr:\n%s", ap.code, ap.stdout, ap.stderr)
	}
	got = plan.run(t)
	if got.code != 0 {
		t.Fatalf("after apply: exit code got %d, want 0\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	if diff := cmp.Diff("No changes. 4 assets are up to date.\n", got.stdout); diff != "" {
		t.Errorf("after apply: stdout (-want +got):\n%s", diff)
	}
}

const badlyIndented = `text "hook" {
prompt = "p"
      max_tokens = 40
}
`

const wellIndented = `text "hook" {
  prompt     = "p"
  max_tokens = 40
}
`

func TestFmt(t *testing.T) {
	tests := map[string]struct {
		content    string
		args       []string
		wantCode   int
		wantListed bool
		wantAfter  string
		wantStderr string
	}{
		"rewrites":          {content: badlyIndented, wantCode: 0, wantListed: true, wantAfter: wellIndented},
		"check unformatted": {content: badlyIndented, args: []string{"-check"}, wantCode: 3, wantListed: true, wantAfter: badlyIndented},
		"check clean":       {content: wellIndented, args: []string{"-check"}, wantCode: 0, wantAfter: wellIndented},
		"clean":             {content: wellIndented, wantCode: 0, wantAfter: wellIndented},
		"invalid HCL": {content: "text \"a\" {\n  prompt = \n}\n", wantCode: 1,
			wantAfter: "text \"a\" {\n  prompt = \n}\n", wantStderr: "Error: "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "main.xp.hcl", tc.content)
			got := runArgs(t, append(append([]string{"fmt"}, tc.args...), dir)...)
			if got.code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d\nstderr:\n%s", got.code, tc.wantCode, got.stderr)
			}
			wantStdout := ""
			if tc.wantListed {
				wantStdout = path + "\n"
			}
			if diff := cmp.Diff(wantStdout, got.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantAfter, string(after)); diff != "" {
				t.Errorf("file after fmt (-want +got):\n%s", diff)
			}
			if !strings.Contains(got.stderr, tc.wantStderr) {
				t.Errorf("stderr: got\n%s\nwant it to contain %q", got.stderr, tc.wantStderr)
			}
			if tc.wantStderr != "" && !strings.Contains(got.stderr, path) {
				t.Errorf("stderr does not name the file %s:\n%s", path, got.stderr)
			}
		})
	}
}

func TestGraph(t *testing.T) {
	got := runArgs(t, "graph", launchDir)
	if got.code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", got.code, got.stderr)
	}
	for _, want := range []string{
		"digraph xpflow {\n",
		`"image.hero[\"aurora\"]" -> "video.spot[\"aurora\"]";`,
		`"text.hook[\"nimbus\"]" -> "image.hero[\"nimbus\"]";`,
	} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("graph output lacks %s:\n%s", want, got.stdout)
		}
	}
	if strings.Contains(got.stdout, `"video.spot[\"aurora\"]" -> `) {
		t.Errorf("graph has an edge out of a video, which nothing depends on:\n%s", got.stdout)
	}
	if !strings.HasSuffix(got.stdout, "}\n") {
		t.Errorf("graph output does not end the digraph:\n%s", got.stdout)
	}
}

func TestModels(t *testing.T) {
	got := runArgs(t, "models", "-simulate")
	if got.code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", got.code, got.stderr)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(got.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	tests := map[string]struct {
		model string
		want  string
	}{
		"text is unpriced":  {model: "openai/gpt-4o", want: "unpriced"},
		"image is unpriced": {model: "bytedance/seedream-4.5", want: "unpriced"},
		"video is priced":   {model: "seedance-2.0/text-to-video", want: "$3.00 per 5s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			line, ok := lines[tc.model]
			if !ok {
				t.Fatalf("models lists no %s:\n%s", tc.model, got.stdout)
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("line for %s: got %q, want it to contain %q", tc.model, line, tc.want)
			}
		})
	}
}

func TestModelsJSON(t *testing.T) {
	got := runArgs(t, "models", "-simulate", "-json")
	if got.code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", got.code, got.stderr)
	}
	var out struct {
		Models map[string][]struct {
			ID             string `json:"id"`
			Type           string `json:"type"`
			CostCentsPer5s *int   `json:"cost_cents_per_5s"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &out); err != nil {
		t.Fatalf("models -json is not JSON: %v\n%s", err, got.stdout)
	}
	for _, typ := range []string{"text", "image", "video"} {
		if len(out.Models[typ]) == 0 {
			t.Errorf("models -json has no %s models", typ)
		}
		for _, m := range out.Models[typ] {
			if m.Type != typ {
				t.Errorf("model %s in group %s has type %q", m.ID, typ, m.Type)
			}
		}
	}
	for _, m := range out.Models["text"] {
		if m.ID == "openai/gpt-4o" && m.CostCentsPer5s != nil {
			t.Errorf("openai/gpt-4o: got a price %d, want none (unpriced)", *m.CostCentsPer5s)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStderr string
	}{
		"unknown command":     {args: []string{"aply"}, wantCode: ExitUsage, wantStderr: `unknown command "aply"`},
		"did you mean":        {args: []string{"pla"}, wantCode: ExitUsage, wantStderr: `Did you mean "plan"?`},
		"no command":          {args: nil, wantCode: ExitUsage, wantStderr: "Usage: xpflow [-chdir=DIR] COMMAND"},
		"flag typo":           {args: []string{"plan", "-simulat"}, wantCode: ExitUsage, wantStderr: "-simulat. Did you mean -simulate?"},
		"command typo":        {args: []string{"paln"}, wantCode: ExitUsage, wantStderr: `Did you mean "plan"?`},
		"global after cmd":    {args: []string{"plan", "-chdir=x"}, wantCode: ExitUsage, wantStderr: "-chdir is a global flag: put it before the command"},
		"unknown global":      {args: []string{"-simulate", "plan"}, wantCode: ExitUsage, wantStderr: "Command flags go after the command"},
		"dir disagrees":       {args: []string{"validate", "-dir", "a", "b"}, wantCode: ExitUsage, wantStderr: "name different directories"},
		"state typo":          {args: []string{"state", "lst"}, wantCode: ExitUsage, wantStderr: `Did you mean "list"?`},
		"bad flag":            {args: []string{"plan", "-nope"}, wantCode: ExitUsage, wantStderr: "flag provided but not defined: -nope"},
		"bad flag value":      {args: []string{"apply", "-parallelism", "many"}, wantCode: ExitUsage, wantStderr: "invalid value"},
		"too many args":       {args: []string{"validate", "a", "b"}, wantCode: ExitUsage, wantStderr: "too many arguments"},
		"dashdash ends flags": {args: []string{"validate", "--", "-json"}, wantCode: ExitError, wantStderr: "Cannot read -json"},
		"help is not fail":    {args: []string{"plan", "-h"}, wantCode: 0, wantStderr: "Usage: xpflow [-chdir=DIR] plan"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := runArgs(t, tc.args...)
			if got.code != tc.wantCode {
				t.Errorf("exit code: got %d, want %d\nstderr:\n%s", got.code, tc.wantCode, got.stderr)
			}
			if !strings.Contains(got.stderr, tc.wantStderr) {
				t.Errorf("stderr: got\n%s\nwant it to contain %q", got.stderr, tc.wantStderr)
			}
		})
	}
}

// TestColor checks that colour appears only on a terminal and never with
// NO_COLOR set.
func TestColor(t *testing.T) {
	tests := map[string]struct {
		tty       bool
		env       map[string]string
		wantColor bool
	}{
		"not a terminal":    {tty: false, wantColor: false},
		"terminal":          {tty: true, wantColor: true},
		"terminal NO_COLOR": {tty: true, env: map[string]string{"NO_COLOR": "1"}, wantColor: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			statePath := filepath.Join(t.TempDir(), "state.json")
			got := invocation{args: []string{"plan", "-simulate", "-state", statePath, launchDir},
				env: tc.env, stdoutTTY: tc.tty}.run(t)
			if got.code != 0 {
				t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", got.code, got.stderr)
			}
			if gotColor := strings.Contains(got.stdout, "\x1b["); gotColor != tc.wantColor {
				t.Errorf("colour in stdout: got %t, want %t\n%q", gotColor, tc.wantColor, got.stdout)
			}
		})
	}
}
