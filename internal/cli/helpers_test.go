package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
)

// testKey is a recognisable API key: no output or file may ever show it.
const testKey = "xp_test_SECRET_abc123"

// invocation is one in-process run of cli.Main.
type invocation struct {
	args     []string
	env      map[string]string
	stdin    string
	stdinTTY bool
	// stdoutTTY claims stdout is a terminal, which allows colour.
	stdoutTTY bool
}

// result is what a run printed and its exit code.
type result struct {
	code           int
	stdout, stderr string
}

// run calls Main with buffers for stdout and stderr, an environment taken
// only from in.env and no terminal.
func (in invocation) run(t *testing.T) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	environ := make([]string, 0, len(in.env))
	for k, v := range in.env {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	env := &Env{
		Stdin:            strings.NewReader(in.stdin),
		Stdout:           &stdout,
		Stderr:           &stderr,
		Getenv:           func(k string) string { return in.env[k] },
		Environ:          environ,
		StdinIsTerminal:  in.stdinTTY,
		StdoutIsTerminal: in.stdoutTTY,
	}
	code := Main(env, in.args)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if !in.stdoutTTY && strings.Contains(out, "\x1b[") {
			t.Errorf("xpflow %s: %s holds an ANSI escape without a terminal:\n%s", strings.Join(in.args, " "), name, out)
		}
		if strings.Contains(out, testKey) {
			t.Errorf("xpflow %s: %s shows the API key:\n%s", strings.Join(in.args, " "), name, out)
		}
	}
	return r
}

// runArgs runs xpflow with args and no environment.
func runArgs(t *testing.T, args ...string) result {
	t.Helper()
	return invocation{args: args}.run(t)
}

// startSim serves a simulator that accepts testKey, has no rate limit and
// finishes async tasks within a second, and returns it with the
// environment that points xpflow at it.
func startSim(t *testing.T, opts ...sim.Option) (*sim.Running, map[string]string) {
	t.Helper()
	base := []sim.Option{sim.WithKey(testKey, 100000), sim.WithRateLimit(0),
		sim.WithLatency("video", 200*time.Millisecond, 800*time.Millisecond),
		sim.WithLatency("image", 100*time.Millisecond, 300*time.Millisecond)}
	run, err := sim.Start("", append(base, opts...)...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	env := map[string]string{
		"XPILOT_BASE_URL":   run.URL,
		"XPILOT_API_KEY":    testKey,
		"XPILOT_RATE_LIMIT": "600",
		"XPFLOW_CACHE_DIR":  t.TempDir(), // the shared request window
	}
	return run, env
}

// generates counts the generate requests the simulator received.
func generates(run *sim.Running) int {
	n := 0
	for _, r := range run.Server.Log() {
		if strings.HasSuffix(r.Endpoint, ".generate") {
			n++
		}
	}
	return n
}

// copyDir copies the regular files of testdata/src (not recursive) into a
// fresh temporary directory and returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	return dst
}

// writeFile writes content to dir/name.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}
