package main

import (
	"bytes"
	"fmt"
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
// its own simulator, configured further by opts. It returns the workspace
// root and the environment.
func workspace(t *testing.T, spec string, opts ...sim.Option) (string, []string) {
	t.Helper()
	run, err := sim.Start("", append([]sim.Option{sim.WithKey(testKey, 100000), sim.WithRateLimit(0)}, opts...)...)
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

// TestHelpExitsZero holds docs/cli.md's promise: -h exits 0 everywhere:
// every command the binary's usage lists (its command table), state and
// its subcommands included, with -h, -help and --help.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	all := [][]string{{"-h"}, {"help"}, {"state", "-h"}, {"state", "--help"}}
	for _, cmd := range binaryCommands(t) {
		for _, h := range []string{"-h", "-help", "--help"} {
			all = append(all, append(strings.Fields(cmd), h))
		}
	}
	for _, args := range all {
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
	lost := filepath.Join(root, "out", "simulate", "video.spot", "a.mp4") // simulated outputs sit apart
	if err := os.Remove(lost); err != nil {
		t.Fatalf("the resumed run did not download %s: %v", lost, err)
	}
	r = u.run(t, "apply", "-simulate", "-auto-approve").must(t, 0, "apply", "-simulate", "-auto-approve")
	if fi, err := os.Stat(lost); err != nil || fi.Size() == 0 {
		t.Errorf("a third run did not download the deleted output again (%v):\n%s%s", err, r.stdout, r.stderr)
	}
}

// TestOneWayToNameTheDirectory: every command gives the same answer when
// the campaign is named by -chdir, by a relative DIR, by -dir, or by
// running inside it.
func TestOneWayToNameTheDirectory(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	inside := userRun{dir: filepath.Join(root, "campaign"), env: env}
	outside := userRun{dir: root, env: env}
	inside.run(t, "apply", "-auto-approve").must(t, 0, "apply", "-auto-approve")
	for _, cmd := range [][]string{
		{"validate"}, {"plan"}, {"graph"}, {"show"}, {"output"}, {"output", "hero"}, {"state", "list"},
		{"fmt", "-check"}, {"plan", "-json"}, {"validate", "-json"}, {"state", "list", "-json"},
	} {
		name := strings.Join(cmd, " ")
		want := inside.run(t, cmd...).must(t, 0, cmd...)
		ways := map[string][]string{
			"-chdir":       append([]string{"-chdir=campaign"}, cmd...),
			"-chdir space": append([]string{"-chdir", "campaign"}, cmd...),
			"-dir":         append(append(append([]string{}, cmd...), "-dir"), "campaign"),
		}
		switch cmd[0] {
		case "output":
			ways["DIR"] = append([]string{"output", "campaign"}, cmd[1:]...)
		case "state":
			ways["DIR"] = append(append([]string{}, cmd...), "campaign")
		case "fmt":
			delete(ways, "-dir") // fmt names files, not a campaign
			ways["DIR"] = append(append([]string{}, cmd...), "campaign")
		default:
			ways["DIR"] = append(append([]string{}, cmd...), "campaign")
			ways["DIR first"] = append([]string{cmd[0], "campaign"}, cmd[1:]...)
		}
		for way, args := range ways {
			got := outside.run(t, args...)
			if got.code != 0 {
				t.Errorf("%s via %s (xpflow %s): exit %d\n%s", name, way, strings.Join(args, " "), got.code, got.stderr)
				continue
			}
			if cmd[0] == "fmt" {
				continue // it lists files by the path given; both list none
			}
			if got.stdout != want.stdout {
				t.Errorf("%s via %s (xpflow %s): stdout differs from running inside the directory\ngot:\n%s\nwant:\n%s", name, way, strings.Join(args, " "), got.stdout, want.stdout)
			}
		}
	}
}

// TestOutputForScripts: output NAME -json prints the bare value and
// output -raw NAME the bare string, as Terraform's do.
func TestOutputForScripts(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	u := userRun{dir: root, env: env}
	u.run(t, "-chdir=campaign", "apply", "-auto-approve").must(t, 0, "apply")
	tests := map[string]struct {
		args []string
		want string
		code int
	}{
		"raw":            {args: []string{"output", "-raw", "campaign", "hero"}, want: "out/image.hero/aurora.png"},
		"raw inside":     {args: []string{"-chdir=campaign", "output", "-raw", "hero"}, want: "out/image.hero/aurora.png"},
		"json with NAME": {args: []string{"output", "-json", "campaign", "hero"}, want: "\"out/image.hero/aurora.png\"\n"},
		"json all":       {args: []string{"output", "-json", "campaign"}, want: "{\n  \"hero\": \"out/image.hero/aurora.png\"\n}\n"},
		"plain":          {args: []string{"output", "campaign", "hero"}, want: "hero = \"out/image.hero/aurora.png\"\n"},
		"raw needs NAME": {args: []string{"output", "-raw", "campaign"}, code: 1},
		"name typo":      {args: []string{"output", "campaign", "heor"}, code: 1},
	}
	for name, tc := range tests {
		r := u.run(t, tc.args...)
		if r.code != tc.code || (tc.code == 0 && r.stdout != tc.want) {
			t.Errorf("%s (xpflow %s): exit %d, stdout %q; want %d, %q\n%s", name, strings.Join(tc.args, " "), r.code, r.stdout, tc.code, tc.want, r.stderr)
		}
	}
	if r := u.run(t, "output", "campaign", "heor"); !strings.Contains(r.stderr, `did you mean "hero"?`) {
		t.Errorf("an output typo does not suggest the name:\n%s", r.stderr)
	}
}

// TestTyposSuggest: commands, flags, -replace and -target addresses.
func TestTyposSuggest(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	u := userRun{dir: filepath.Join(root, "campaign"), env: env}
	tests := map[string]struct {
		args []string
		want string
	}{
		"command":      {[]string{"paln"}, `Did you mean "plan"?`},
		"flag":         {[]string{"plan", "-simulat"}, "Did you mean -simulate?"},
		"replace typo": {[]string{"plan", "-replace", "image.heros"}, "Did you mean -replace image.hero?"},
		"target typo":  {[]string{"plan", "-target", `text.hok["aurora"]`}, `Did you mean -target text.hook["aurora"]?`},
		"apply too":    {[]string{"apply", "-auto-approve", "-replace", "image.heros"}, "Did you mean -replace image.hero?"},
	}
	for name, tc := range tests {
		r := u.run(t, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s (xpflow %s): exit %d, stderr:\n%s\nwant exit 1 and %q", name, strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
		if strings.Contains(r.stdout, "to create") {
			t.Errorf("%s: a typo still printed a plan:\n%s", name, r.stdout)
		}
	}
}

// TestVersion: 'xpflow version' and '-version' report what the Go
// toolchain stamped into the binary, as 'go version -m' reads it.
func TestVersion(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	stamp, err := exec.Command(goTool, "version", "-m", binary).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	wantRev := ""
	for _, line := range strings.Split(string(stamp), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision=") {
			wantRev = strings.TrimPrefix(f[1], "vcs.revision=")
		}
	}
	u := userRun{dir: t.TempDir()}
	a := u.run(t, "version").must(t, 0, "version")
	b := u.run(t, "-version").must(t, 0, "-version")
	if a.stdout != b.stdout {
		t.Errorf("version and -version differ:\n%s\n%s", a.stdout, b.stdout)
	}
	if !strings.HasPrefix(a.stdout, "xpflow ") || !strings.Contains(a.stdout, "built with go") {
		t.Errorf("version output:\n%s", a.stdout)
	}
	if wantRev != "" && !strings.Contains(a.stdout, "revision "+wantRev) {
		t.Errorf("version does not name the stamped revision %s:\n%s", wantRev, a.stdout)
	}
	if wantRev == "" && strings.Contains(a.stdout, "revision") {
		t.Errorf("version names a revision the binary does not carry:\n%s", a.stdout)
	}
}

// TestCompletion: each script parses in its shell and completes commands
// and the flags a command really has; bash completes them when asked.
func TestCompletion(t *testing.T) {
	t.Parallel()
	u := userRun{dir: t.TempDir()}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := u.run(t, "completion", shell).must(t, 0, "completion", shell)
		for _, want := range []string{"plan", "-simulate", "-auto-approve", "-chdir"} {
			if shell == "fish" && strings.HasPrefix(want, "-") {
				want = "-o " + want[1:] // fish's old-style option
			}
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s completion lacks %s", shell, want)
			}
		}
		path, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("%s not installed: its script is not parsed", shell)
			continue
		}
		check := exec.Command(path, "-n")
		if shell == "fish" {
			check = exec.Command(path, "--no-execute")
		}
		check.Stdin = strings.NewReader(r.stdout)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("%s does not parse its completion script: %v\n%s", shell, err, out)
		}
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return
	}
	script := u.run(t, "completion", "bash").stdout
	for line, want := range map[string]string{
		"xpflow pl":          "plan",
		"xpflow plan -simu":  "-simulate",
		"xpflow state l":     "list",
		"xpflow apply -auto": "-auto-approve",
	} {
		words := strings.Fields(line)
		prog := script + fmt.Sprintf("\nCOMP_WORDS=(%s); COMP_CWORD=%d; _xpflow; echo \"${COMPREPLY[@]}\"\n", line, len(words)-1)
		out, err := exec.Command("bash", "-c", prog).Output()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("completing %q: got %q (%v), want %s", line, out, err, want)
		}
	}
}
