package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyConfirmation checks that apply asks before spending and
// generates nothing unless the answer is exactly "yes".
func TestApplyConfirmation(t *testing.T) {
	tests := map[string]struct {
		stdin         string
		stdinTTY      bool
		wantCode      int
		wantStderr    string
		wantGenerates int
	}{
		"no terminal":     {stdinTTY: false, wantCode: ExitError, wantStderr: "run with -auto-approve"},
		"answer no":       {stdin: "no\n", stdinTTY: true, wantCode: ExitError, wantStderr: "apply cancelled"},
		"answer empty":    {stdin: "", stdinTTY: true, wantCode: ExitError, wantStderr: "apply cancelled"},
		"answer Yes":      {stdin: "Yes\n", stdinTTY: true, wantCode: ExitError, wantStderr: "apply cancelled"},
		"answer yes":      {stdin: "yes\n", stdinTTY: true, wantCode: 0, wantGenerates: 4},
		"yes without EOL": {stdin: "yes", stdinTTY: true, wantCode: 0, wantGenerates: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			run, env := startSim(t)
			dir := copyDir(t, "testdata/quick")
			got := invocation{args: []string{"apply", dir}, env: env, stdin: tc.stdin, stdinTTY: tc.stdinTTY}.run(t)
			if got.code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, tc.wantCode, got.stdout, got.stderr)
			}
			if !strings.Contains(got.stderr, tc.wantStderr) {
				t.Errorf("stderr: got\n%s\nwant it to contain %q", got.stderr, tc.wantStderr)
			}
			if n := generates(run); n != tc.wantGenerates {
				t.Errorf("generate requests: got %d, want %d", n, tc.wantGenerates)
			}
			if !strings.Contains(got.stdout, "Plan: 4 to create.") {
				t.Errorf("apply did not show the plan before asking:\n%s", got.stdout)
			}
			_, err := os.Stat(filepath.Join(dir, "out"))
			if gotOut := err == nil; gotOut != (tc.wantGenerates > 0) {
				t.Errorf("out/ exists: got %t, want %t", gotOut, tc.wantGenerates > 0)
			}
		})
	}
}

// TestSavedPlan checks that apply FILE applies a saved plan when nothing
// changed, and refuses a stale one naming what changed.
func TestSavedPlan(t *testing.T) {
	tests := map[string]struct {
		// change runs between plan -out and apply FILE.
		change        func(t *testing.T, dir string, env map[string]string)
		wantCode      int
		wantStderr    []string
		wantGenerates int // by apply FILE
	}{
		"unchanged": {change: func(*testing.T, string, map[string]string) {}, wantCode: 0, wantGenerates: 4},
		"spec changed": {
			change: func(t *testing.T, dir string, _ map[string]string) {
				p := filepath.Join(dir, "quick.xp.hcl")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, "quick.xp.hcl", strings.Replace(string(b), "Nimbus pillow", "Nimbus travel pillow", 1))
			},
			wantCode:   ExitError,
			wantStderr: []string{"the saved plan is stale", "the spec or a variable changed"},
		},
		"state changed": {
			change: func(t *testing.T, dir string, env map[string]string) {
				got := invocation{args: []string{"apply", "-auto-approve", "-target", `text.hook["aurora"]`, dir}, env: env}.run(t)
				if got.code != 0 {
					t.Fatalf("the other apply: exit code %d\nstderr:\n%s", got.code, got.stderr)
				}
			},
			wantCode:      ExitError,
			wantStderr:    []string{"the saved plan is stale", "the state changed"},
			wantGenerates: 1, // by the other apply only
		},
		"variable changed by the environment": {
			change: func(t *testing.T, dir string, env map[string]string) {
				env["XPFLOW_VAR_products"] = `{aurora = "Aurora"}`
			},
			wantCode:   ExitError,
			wantStderr: []string{"the saved plan is stale", "the spec or a variable changed"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			run, env := startSim(t)
			dir := copyDir(t, "testdata/quick")
			planPath := filepath.Join(t.TempDir(), "quick.plan")
			got := invocation{args: []string{"plan", "-out", planPath, dir}, env: env}.run(t)
			if got.code != 0 {
				t.Fatalf("plan -out: exit code %d\nstderr:\n%s", got.code, got.stderr)
			}
			if !strings.Contains(got.stdout, "Saved the plan to "+planPath) {
				t.Errorf("plan -out does not say where it saved the plan:\n%s", got.stdout)
			}
			tc.change(t, dir, env)
			got = invocation{args: []string{"apply", planPath}, env: env}.run(t)
			if got.code != tc.wantCode {
				t.Fatalf("apply FILE: exit code got %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, tc.wantCode, got.stdout, got.stderr)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
				}
			}
			if n := generates(run); n != tc.wantGenerates {
				t.Errorf("generate requests: got %d, want %d", n, tc.wantGenerates)
			}
		})
	}
}

func TestApplyNotAPlanFile(t *testing.T) {
	path := writeFile(t, t.TempDir(), "notes.txt", "hello\n")
	got := runArgs(t, "apply", path)
	if got.code != ExitError {
		t.Fatalf("exit code: got %d, want %d\nstderr:\n%s", got.code, ExitError, got.stderr)
	}
	if want := path + " is not a saved xpflow plan"; !strings.Contains(got.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
	}
}

// TestApplyWithoutKey checks the message when no key is set and no
// -simulate is given.
func TestApplyWithoutKey(t *testing.T) {
	dir := copyDir(t, "testdata/quick")
	got := invocation{args: []string{"apply", "-auto-approve", dir}, env: map[string]string{}}.run(t)
	if got.code != ExitError {
		t.Fatalf("exit code: got %d, want %d\nstderr:\n%s", got.code, ExitError, got.stderr)
	}
	for _, want := range []string{"XPILOT_API_KEY is not set", "-simulate"} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
		}
	}
}
