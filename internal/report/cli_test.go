package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/cli"
)

// fixtureState is the hand-written state shared with the package's own
// tests.
const fixtureState = "../../testdata/report/state.json"

// run calls cli.Main in-process with an empty environment and returns its
// exit code, stdout and stderr.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(string) string { return "" },
	}
	code = cli.Main(env, args)
	return code, out.String(), errb.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReportCommand(t *testing.T) {
	tests := map[string]struct {
		args       func(dir string) []string
		wantCode   int
		wantFile   string // relative to dir; "" means none is checked
		wantInPage string
		wantStdout string
		wantStderr string
	}{
		"default output beside the media": {
			args:       func(dir string) []string { return []string{"report", "-simulate", dir} },
			wantFile:   "out/report.html",
			wantInPage: `src="./image.hero/a%20b%231.png"`,
			wantStdout: "Wrote a report of 8 assets to ",
		},
		"-state and -o elsewhere": {
			args: func(dir string) []string {
				return []string{"report", "-state", filepath.Join(dir, "xpflow.simulate.state.json"),
					"-o", filepath.Join(dir, "review", "page.html"), dir}
			},
			wantFile:   "review/page.html",
			wantInPage: `src="../out/image.hero/a%20b%231.png"`,
			wantStdout: "page.html",
		},
		"no state file": {
			args:       func(dir string) []string { return []string{"report", dir} },
			wantCode:   1,
			wantStderr: "xpflow.state.json: run xpflow apply first, or add -simulate",
		},
		"too many arguments": {
			args:       func(dir string) []string { return []string{"report", dir, dir} },
			wantCode:   cli.ExitUsage,
			wantStderr: "too many arguments",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			copyFile(t, fixtureState, filepath.Join(dir, "xpflow.simulate.state.json"))
			code, stdout, stderr := run(t, tc.args(dir)...)
			if code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d\nstderr:\n%s", code, tc.wantCode, stderr)
			}
			if !strings.Contains(stdout, tc.wantStdout) {
				t.Errorf("stdout: got %q, want it to contain %q", stdout, tc.wantStdout)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr, tc.wantStderr)
			}
			if tc.wantFile == "" {
				return
			}
			page, err := os.ReadFile(filepath.Join(dir, tc.wantFile))
			if err != nil {
				t.Fatalf("read the report: %v", err)
			}
			if !strings.Contains(string(page), tc.wantInPage) {
				t.Errorf("report: got no %q in it, want it", tc.wantInPage)
			}
		})
	}
}
