// Package window_test runs several xpflow processes on one key against one
// simulator, as separate binaries: the window ledger they share is the
// subject.
package window_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/testbin"
	"github.com/xpflow/xpflow/internal/window"
)

// apiKey must never appear in any output or in the ledger.
const apiKey = "xp_window_SECRET_51c0"

// holdEnv makes the test binary a process that holds a ledger lock until
// killed; see TestMain.
const holdEnv = "XPFLOW_WINDOW_HOLD_LOCK"

// binary is the xpflow executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	if p := os.Getenv(holdEnv); p != "" {
		if err := flock.New(p).Lock(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
	}
	os.Exit(testbin.Main(m, &binary))
}

// rig is one simulator and one cache directory shared by the processes of
// a test.
type rig struct {
	t     *testing.T
	run   *sim.Running
	limit int
	cache string
}

func newRig(t *testing.T, limit int, opts ...sim.Option) *rig {
	t.Helper()
	all := append([]sim.Option{sim.WithKey(apiKey, 1_000_000), sim.WithRateLimit(limit)}, opts...)
	run, err := sim.Start("", all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	r := &rig{t: t, run: run, limit: limit, cache: t.TempDir()}
	t.Cleanup(r.checkSecrets)
	return r
}

// earlierRun records n requests of an earlier xpflow run at at, both in the
// simulator's window and in the ledger, as that run would have left them.
func (r *rig) earlierRun(n int, at time.Time) {
	r.t.Helper()
	r.run.Server.FillWindow(apiKey, n, at)
	s, err := window.OpenFile(r.cache, window.Name(r.run.URL, apiKey), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	err = s.Update(context.Background(), func(l *window.Ledger) bool {
		for i := range n {
			// Closed entries are dated from their answers; the server's
			// stamp was a little earlier.
			l.Add("earlier-run", uint64(i+1), at.Add(-window.Grace), false)
		}
		return true
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// lockPath is the ledger's lock file.
func (r *rig) lockPath() string {
	return filepath.Join(r.cache, strings.TrimSuffix(window.Name(r.run.URL, apiKey), ".json")+".lock")
}

// proc is one xpflow process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *testbin.Output
	done           chan struct{}
	err            error // set before done closes
}

// start runs xpflow with args in the rig's environment.
func (r *rig) start(args ...string) *proc {
	r.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.t.TempDir(),
		"XPILOT_BASE_URL=" + r.run.URL,
		"XPILOT_API_KEY=" + apiKey,
		fmt.Sprintf("XPILOT_RATE_LIMIT=%d", r.limit),
		window.EnvCacheDir + "=" + r.cache,
	}
	p := &proc{cmd: cmd, stdout: &testbin.Output{}, stderr: &testbin.Output{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	r.t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	r.t.Cleanup(func() {
		for _, out := range []string{p.stdout.String(), p.stderr.String()} {
			if strings.Contains(out, apiKey) {
				r.t.Errorf("xpflow %s printed the API key", strings.Join(args, " "))
			}
		}
	})
	return p
}

// wait waits for p and fails the test unless it exits 0 within limit.
func (p *proc) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not end within %s\nstderr:\n%s", strings.Join(p.cmd.Args, " "), limit, p.stderr)
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		t.Fatal(p.err)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(p.cmd.Args, " "), code, p.stdout, p.stderr)
	}
}

// campaign writes a campaign of n synchronous texts tagged name and
// returns its directory.
func campaign(t *testing.T, name string, n int) string {
	t.Helper()
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("%q", fmt.Sprintf("%s%d", name, i)))
	}
	src := fmt.Sprintf(`xpflow {
  output_dir = "out"
}

text "line" {
  for_each   = toset([%s])
  model      = "openai/gpt-4o"
  prompt     = "Write line ${each.key}."
  max_tokens = 20
}
`, strings.Join(keys, ", "))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkSecrets fails the test if any file of the cache holds the key.
func (r *rig) checkSecrets() {
	_ = filepath.WalkDir(r.cache, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(apiKey)) {
			r.t.Errorf("%s holds the API key", p)
		}
		return nil
	})
}

// statuses lists the simulator's answers.
func statuses(log []sim.Request) []int {
	var out []int
	for _, r := range log {
		out = append(out, r.Status)
	}
	return out
}
