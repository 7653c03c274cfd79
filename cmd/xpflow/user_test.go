package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
)

// quickCampaign uses only synchronous models, so apply ends at once.
const quickCampaign = `xpflow {
  output_dir = "out"
}

variable "products" {
  type    = map(string)
  default = { aurora = "Aurora headphones" }
}

text "hook" {
  for_each   = var.products
  prompt     = "Write a hook for ${each.value}."
  max_tokens = 40
}

image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} Product shot."
  aspect_ratio = "16:9"
}

output "hero" {
  value = image.hero["aurora"].file
}
`

// userRun is one invocation the way a user types it: a working directory,
// relative arguments, a clean environment.
type userRun struct {
	dir   string   // working directory
	env   []string // extra KEY=VALUE
	stdin string
}

// userResult is what the process printed and its exit code.
type userResult struct {
	code           int
	stdout, stderr string
}

func (u userRun) run(t *testing.T, args ...string) userResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = u.dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + u.dir}, u.env...)
	cmd.Stdin = strings.NewReader(u.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start xpflow: %v", err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("xpflow %s did not end within 60s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), &stdout, &stderr)
	}
	r := userResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if strings.Contains(out, testKey) {
			t.Errorf("xpflow %s: %s shows the API key", strings.Join(args, " "), name)
		}
		if strings.Contains(out, "goroutine ") {
			t.Errorf("xpflow %s: %s looks like a panic:\n%s", strings.Join(args, " "), name, out)
		}
	}
	return r
}

// must fails the test unless the run exited with want.
func (r userResult) must(t *testing.T, want int, args ...string) userResult {
	t.Helper()
	if r.code != want {
		t.Fatalf("xpflow %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// workspace is a temp directory holding campaign/quick.xp.hcl, served by
// its own simulator. It returns the workspace root and the environment.
func workspace(t *testing.T, spec string) (string, []string) {
	t.Helper()
	run, err := sim.Start("", sim.WithKey(testKey, 100000), sim.WithRateLimit(0))
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "campaign"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "campaign", "quick.xp.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, []string{"XPILOT_BASE_URL=" + run.URL, "XPILOT_API_KEY=" + testKey, "XPILOT_RATE_LIMIT=600"}
}

// TestSavedPlanRelativePaths is the CI habit plan -out, review, apply
// PLANFILE, with the directory named the ways users name it.
func TestSavedPlanRelativePaths(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cwd      string // relative to the workspace root
		planArgs []string
		applyCwd string
		planFile string // as passed to apply
	}{
		"relative DIR": {cwd: ".", planArgs: []string{"plan", "-out", "launch.plan", "campaign"},
			applyCwd: ".", planFile: "launch.plan"},
		"dot-slash DIR": {cwd: ".", planArgs: []string{"plan", "-out", "launch.plan", "./campaign/"},
			applyCwd: ".", planFile: "launch.plan"},
		"inside the directory": {cwd: "campaign", planArgs: []string{"plan", "-out", "launch.plan"},
			applyCwd: "campaign", planFile: "launch.plan"},
		"applied from elsewhere": {cwd: "campaign", planArgs: []string{"plan", "-out", "../launch.plan", "."},
			applyCwd: ".", planFile: "launch.plan"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root, env := workspace(t, quickCampaign)
			u := userRun{dir: filepath.Join(root, tc.cwd), env: env}
			u.run(t, tc.planArgs...).must(t, 0, tc.planArgs...)
			a := userRun{dir: filepath.Join(root, tc.applyCwd), env: env}
			r := a.run(t, "apply", tc.planFile).must(t, 0, "apply", tc.planFile)
			if !strings.Contains(r.stdout, "2 to create") {
				t.Errorf("apply did not apply the saved plan:\n%s", r.stdout)
			}
			if _, err := os.Stat(filepath.Join(root, "campaign", "out", "image.hero", "aurora.png")); err != nil {
				t.Errorf("the image was not downloaded into the campaign: %v", err)
			}
			// Nothing changed: a new saved plan of no changes applies too.
			u.run(t, tc.planArgs...).must(t, 0, tc.planArgs...)
			r = a.run(t, "apply", tc.planFile).must(t, 0, "apply", tc.planFile)
			if !strings.Contains(r.stdout, "No changes") {
				t.Errorf("apply of an unchanged saved plan:\n%s", r.stdout)
			}
		})
	}
}

// TestInitPassesFmtCheck runs init the ways users do (a relative DIR, and
// inside an empty directory with none) and checks the starter is already
// canonical, points at nothing an installed binary lacks, and plans.
func TestInitPassesFmtCheck(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "here"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		cwd  string
		args []string
		spec string // the written file, relative to root
	}{
		"relative DIR":   {cwd: ".", args: []string{"init", "campaign"}, spec: "campaign/main.xp.hcl"},
		"inside, no DIR": {cwd: "here", args: []string{"init"}, spec: "here/main.xp.hcl"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u := userRun{dir: filepath.Join(root, tc.cwd)}
			u.run(t, tc.args...).must(t, 0, tc.args...)
			specDir := filepath.Dir(tc.spec)
			check := userRun{dir: root}
			if r := check.run(t, "fmt", "-check", specDir); r.code != 0 || r.stdout != "" {
				t.Errorf("fmt -check %s: exit %d, listed %q; want 0 and nothing listed", specDir, r.code, r.stdout)
			}
			b, err := os.ReadFile(filepath.Join(root, tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "docs/") {
				t.Errorf("the starter points at a docs/ file an installed binary does not have:\n%s", b)
			}
			check.run(t, "plan", "-simulate", specDir).must(t, 0, "plan", "-simulate", specDir)
		})
	}
}

// TestHelpExitsZero holds docs/cli.md's promise: -h exits 0 everywhere,
// state and its subcommands included.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-h"}, {"help"}, {"state", "-h"}, {"state", "--help"}, {"state", "list", "-h"}, {"state", "rm", "-h"},
		{"plan", "-h"}, {"apply", "-h"}, {"output", "-h"}, {"validate", "-h"}, {"init", "-h"}, {"fmt", "-h"},
	} {
		r := userRun{dir: dir}.run(t, args...)
		if r.code != 0 {
			t.Errorf("xpflow %s: exit %d, want 0\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		if !strings.Contains(r.stderr+r.stdout, "Usage:") {
			t.Errorf("xpflow %s printed no usage:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
}

// TestSimulateResumesAcrossRuns interrupts 'apply -simulate' while videos
// generate; the next 'apply -simulate' (a new simulator process) resumes
// them instead of failing them with 404, and a deleted output downloads
// again on a third run.
func TestSimulateResumesAcrossRuns(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "spots.xp.hcl"), []byte(campaign), 0o644); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(root, "xpflow.simulate.state.json")
	cmd := exec.Command(binary, "apply", "-simulate", "-auto-approve")
	cmd.Dir, cmd.Env = root, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := &proc{cmd: cmd, stdout: &out, stderr: &bytes.Buffer{}}
	(&fixture{dir: root}).waitSubmittedAt(t, first, statePath)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t, 20*time.Second); code != 130 {
		t.Fatalf("interrupted apply -simulate: exit %d, want 130\n%s", code, &out)
	}
	u := userRun{dir: root}
	r := u.run(t, "plan", "-simulate").must(t, 0, "plan", "-simulate")
	if !strings.Contains(r.stdout, "4 to resume") {
		t.Errorf("plan after the interrupt does not resume the 4 spots:\n%s", r.stdout)
	}
	r = u.run(t, "apply", "-simulate", "-auto-approve").must(t, 0, "apply", "-simulate", "-auto-approve")
	if strings.Contains(r.stdout+r.stderr, "not found") {
		t.Errorf("the resumed run failed tasks as not found:\n%s%s", r.stdout, r.stderr)
	}
	st, err := readState(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range spotKeys {
		if a := st.Assets[spotAddr(k)]; a.Status != "completed" {
			t.Errorf("%s after the resumed run: %q, want completed", spotAddr(k), a.Status)
		}
	}
	lost := filepath.Join(root, "out", "video.spot", "a.mp4")
	if err := os.Remove(lost); err != nil {
		t.Fatalf("the resumed run did not download %s: %v", lost, err)
	}
	r = u.run(t, "apply", "-simulate", "-auto-approve").must(t, 0, "apply", "-simulate", "-auto-approve")
	if fi, err := os.Stat(lost); err != nil || fi.Size() == 0 {
		t.Errorf("a third run did not download the deleted output again (%v):\n%s%s", err, r.stdout, r.stderr)
	}
}
