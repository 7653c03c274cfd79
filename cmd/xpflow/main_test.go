package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/testbin"
)

// testKey is a recognisable API key: it must never appear in output or in
// any file xpflow writes.
const testKey = "xp_test_SECRET_abc123"

// binary is the xpflow executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, &binary))
}

// campaign has several text-to-video spots with no dependencies between
// them; each prompt names its address so the simulator log can be mapped
// back to assets.
const campaign = `xpflow {
  output_dir = "out"
}

variable "spots" {
  type    = set(string)
  default = ["a", "b", "c", "d"]
}

video "spot" {
  for_each = var.spots
  model    = "seedance-2.0/text-to-video"
  prompt   = "Spot ${each.key}: a slow push-in on the product."
  duration = 4
}
`

var spotKeys = []string{"a", "b", "c", "d"}

func spotAddr(k string) string { return `video.spot["` + k + `"]` }

// fixture is one campaign directory served by its own simulator.
type fixture struct {
	dir string
	sim *sim.Running
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	run, err := sim.Start("", sim.WithKey(testKey, 100000), sim.WithRateLimit(0),
		sim.WithLatency("video", 4*time.Second, 5*time.Second))
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spots.xp.hcl"), []byte(campaign), 0o644); err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, sim: run}
}

func (f *fixture) statePath() string { return filepath.Join(f.dir, "xpflow.state.json") }

// proc is a running xpflow process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
}

// start runs xpflow with args against the fixture's simulator. The
// environment holds only what xpflow needs, so nothing leaks in from the
// developer's shell.
func (f *fixture) start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"XPILOT_BASE_URL=" + f.sim.URL,
		"XPILOT_API_KEY=" + testKey,
		"XPILOT_RATE_LIMIT=600",
	}
	p := &proc{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start xpflow: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	return p
}

// wait waits for the process to end, at most limit, and returns its exit
// code (-1 when killed by a signal).
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("wait for xpflow: %v", err)
		}
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("xpflow %s did not end within %s\nstdout:\n%s\nstderr:\n%s",
			strings.Join(p.cmd.Args[1:], " "), limit, p.stdout, p.stderr)
		return -1
	}
}

// run runs xpflow to completion and returns its exit code and output.
func (f *fixture) run(t *testing.T, limit time.Duration, args ...string) (int, *proc) {
	t.Helper()
	p := f.start(t, args...)
	return p.wait(t, limit), p
}

// stateFile is the part of the state file the tests read.
type stateFile struct {
	Assets map[string]struct {
		Status  string `json:"status"`
		TaskID  string `json:"task_id"`
		Outputs []struct {
			File string `json:"file"`
		} `json:"outputs"`
	} `json:"assets"`
}

// readState reads the state the way xpflow does, journal included, into
// the part the tests read.
func readState(path string) (*stateFile, error) {
	st, err := state.Load(path)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var out stateFile
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// waitSubmitted polls the state file until every spot is submitted with a
// task id. Polling a file across a process boundary is the one place a
// bounded wait loop is the right tool.
func (f *fixture) waitSubmitted(t *testing.T, p *proc) {
	t.Helper()
	f.waitSubmittedAt(t, p, f.statePath())
}

// waitSubmittedAt is waitSubmitted for the state file at statePath.
func (f *fixture) waitSubmittedAt(t *testing.T, p *proc, statePath string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := readState(statePath); err == nil {
			n := 0
			for _, k := range spotKeys {
				a, ok := st.Assets[spotAddr(k)]
				if ok && a.Status == "submitted" && a.TaskID != "" {
					n++
				}
			}
			if n == len(spotKeys) {
				return
			}
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the state never showed every spot submitted\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
}

// generatesByAddr maps every generate request the simulator received to
// the address whose prompt it carried.
func (f *fixture) generatesByAddr(t *testing.T) map[string]int {
	t.Helper()
	byPrompt := map[string]string{}
	for _, k := range spotKeys {
		byPrompt["Spot "+k+": a slow push-in on the product."] = spotAddr(k)
	}
	got := map[string]int{}
	for _, r := range f.sim.Server.Log() {
		if !strings.HasSuffix(r.Endpoint, ".generate") {
			continue
		}
		var body struct {
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("generate body is not JSON: %v", err)
		}
		addr, ok := byPrompt[body.Prompt]
		if !ok {
			addr = "unknown prompt " + body.Prompt
		}
		got[addr]++
	}
	return got
}

func oncePerSpot() map[string]int {
	want := map[string]int{}
	for _, k := range spotKeys {
		want[spotAddr(k)] = 1
	}
	return want
}

// assertComplete checks that every spot is completed in the state and its
// file is on disk.
func (f *fixture) assertComplete(t *testing.T) {
	t.Helper()
	st, err := readState(f.statePath())
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	for _, k := range spotKeys {
		a, ok := st.Assets[spotAddr(k)]
		if !ok || a.Status != "completed" {
			t.Errorf("%s: got status %q, want completed", spotAddr(k), a.Status)
			continue
		}
		path := filepath.Join(f.dir, "out", "video.spot", k+".mp4")
		fi, err := os.Stat(path)
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: output %s missing or empty (%v)", spotAddr(k), path, err)
		}
	}
}

// assertNoSecret checks that the key appears in no output and in no file
// under the campaign directory (state, lock, out/).
func (f *fixture) assertNoSecret(t *testing.T, procs ...*proc) {
	t.Helper()
	for _, p := range procs {
		for name, out := range map[string]string{"stdout": p.stdout.String(), "stderr": p.stderr.String()} {
			if strings.Contains(out, testKey) {
				t.Errorf("xpflow %s: %s shows the API key", strings.Join(p.cmd.Args[1:], " "), name)
			}
		}
	}
	var scanned []string
	err := filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned = append(scanned, path)
		if bytes.Contains(b, []byte(testKey)) {
			t.Errorf("%s holds the API key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", f.dir, err)
	}
	if len(scanned) < 2 {
		t.Errorf("scanned only %v; want the spec, the state and outputs", scanned)
	}
}

// TestSIGKILLResume kills apply while videos are generating and checks
// that a second apply finishes the run without generating anything twice.
func TestSIGKILLResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.start(t, "apply", "-auto-approve", f.dir)
	f.waitSubmitted(t, first)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t, 10*time.Second); code != -1 {
		t.Fatalf("first apply: exit code %d, want -1 (killed)", code)
	}
	code, second := f.run(t, 60*time.Second, "apply", "-auto-approve", f.dir)
	if code != 0 {
		t.Fatalf("second apply: exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, second.stdout, second.stderr)
	}
	if diff := cmp.Diff(oncePerSpot(), f.generatesByAddr(t)); diff != "" {
		t.Errorf("generate requests per address (-want +got):\n%s", diff)
	}
	f.assertComplete(t)
	f.assertNoSecret(t, first, second)
}

// TestConcurrentApply checks that a second apply on the same state fails at
// once and names the pid holding the lock.
func TestConcurrentApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.start(t, "apply", "-auto-approve", f.dir)
	f.waitSubmitted(t, first)
	start := time.Now()
	code, second := f.run(t, 10*time.Second, "apply", "-auto-approve", f.dir)
	took := time.Since(start)
	if code != 1 {
		t.Errorf("second apply: exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", code, second.stdout, second.stderr)
	}
	if want := fmt.Sprintf("locked by pid %d", first.cmd.Process.Pid); !strings.Contains(second.stderr.String(), want) {
		t.Errorf("second apply: stderr lacks %q:\n%s", want, second.stderr)
	}
	if took > 3*time.Second {
		t.Errorf("second apply took %s to fail; want it to fail at once", took)
	}
	if code := first.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("first apply: exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, first.stdout, first.stderr)
	}
	if diff := cmp.Diff(oncePerSpot(), f.generatesByAddr(t)); diff != "" {
		t.Errorf("generate requests per address (-want +got):\n%s", diff)
	}
	f.assertComplete(t)
	f.assertNoSecret(t, first, second)
}

// TestSIGINT interrupts apply while videos are generating: it exits 130,
// lists what is still generating, keeps the task ids, and a later apply
// resumes them without new generate requests.
func TestSIGINT(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.start(t, "apply", "-auto-approve", f.dir)
	f.waitSubmitted(t, first)
	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t, 10*time.Second); code != 130 {
		t.Fatalf("interrupted apply: exit code %d, want 130\nstdout:\n%s\nstderr:\n%s", code, first.stdout, first.stderr)
	}
	out := first.stdout.String()
	_, listed, ok := strings.Cut(out, "Still generating")
	if !ok {
		t.Fatalf("interrupted apply does not list what is still generating:\n%s", out)
	}
	for _, k := range spotKeys {
		if !strings.Contains(listed, spotAddr(k)) {
			t.Errorf("the still-generating list lacks %s:\n%s", spotAddr(k), listed)
		}
	}
	st, err := readState(f.statePath())
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	var ids []string
	for _, k := range spotKeys {
		a := st.Assets[spotAddr(k)]
		if a.Status != "submitted" || a.TaskID == "" {
			t.Errorf("%s after interrupt: got status %q task %q, want submitted with a task id", spotAddr(k), a.Status, a.TaskID)
		}
		ids = append(ids, a.TaskID)
	}
	sort.Strings(ids)
	code, second := f.run(t, 60*time.Second, "apply", "-auto-approve", f.dir)
	if code != 0 {
		t.Fatalf("resumed apply: exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, second.stdout, second.stderr)
	}
	if diff := cmp.Diff(oncePerSpot(), f.generatesByAddr(t)); diff != "" {
		t.Errorf("generate requests per address (-want +got):\n%s", diff)
	}
	var polled []string
	seen := map[string]bool{}
	for _, r := range f.sim.Server.Log() {
		if r.Endpoint == "video.poll" && !seen[r.TaskID] {
			seen[r.TaskID] = true
			polled = append(polled, r.TaskID)
		}
	}
	sort.Strings(polled)
	if diff := cmp.Diff(ids, polled); diff != "" {
		t.Errorf("tasks polled (-recorded +polled):\n%s", diff)
	}
	f.assertComplete(t)
	f.assertNoSecret(t, first, second)
}

// TestProcessExitCodes checks the exit codes the binary itself returns.
func TestProcessExitCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := map[string]struct {
		args []string
		want int
	}{
		"no command":      {args: nil, want: 1},
		"unknown command": {args: []string{"nope"}, want: 1},
		"bad flag":        {args: []string{"plan", "-nope"}, want: 1},
		"validate ok":     {args: []string{"validate", f.dir}, want: 0},
		"plan changes":    {args: []string{"plan", "-detailed-exitcode", f.dir}, want: 2},
		"missing dir":     {args: []string{"validate", filepath.Join(f.dir, "none")}, want: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, binary, tc.args...)
			cmd.Env = []string{"XPILOT_BASE_URL=" + f.sim.URL, "XPILOT_API_KEY=" + testKey}
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != tc.want {
				t.Errorf("exit code: got %d, want %d\n%s", got, tc.want, out)
			}
			if bytes.Contains(out, []byte(testKey)) {
				t.Errorf("output shows the API key:\n%s", out)
			}
			if bytes.Contains(out, []byte("goroutine ")) {
				t.Errorf("output looks like a panic:\n%s", out)
			}
		})
	}
}
