package faults_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/testbin"
)

// proc is one xpflow subprocess.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *testbin.Output
	done           chan struct{} // closed when the process has been waited
	err            error         // Wait's result, set before done closes
}

// startXpflow runs the binary with args against baseURL, with an
// environment holding only what xpflow needs. Its output is registered
// with the secret guard.
func startXpflow(t *testing.T, g *secretGuard, baseURL string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"XPILOT_BASE_URL=" + baseURL,
		"XPILOT_API_KEY=" + apiKey,
		"XPILOT_RATE_LIMIT=600",
	}
	p := &proc{cmd: cmd, stdout: &testbin.Output{}, stderr: &testbin.Output{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	name := "xpflow " + strings.Join(args, " ")
	g.text(name+" stdout", p.stdout.String)
	g.text(name+" stderr", p.stderr.String)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start xpflow: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// kill sends SIGKILL (if the process still runs) and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// wait waits at most limit for the process and returns its exit code (-1
// when killed by a signal). Past the limit it kills it and fails the test.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.kill()
		t.Fatalf("%s did not end within %s\nstdout:\n%s\nstderr:\n%s",
			strings.Join(p.cmd.Args, " "), limit, p.stdout, p.stderr)
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		t.Fatalf("wait for xpflow: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// planAsset is the part of `plan -json` the tests read.
type planAsset struct {
	Address string `json:"address"`
	Action  string `json:"action"`
}

// planActions runs `xpflow plan -json DIR` and returns the action of every
// asset.
func planActions(t *testing.T, g *secretGuard, baseURL, dir string) map[string]string {
	t.Helper()
	p := startXpflow(t, g, baseURL, "plan", "-json", dir)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("plan -json exited %d\nstderr:\n%s", code, p.stderr)
	}
	var plan struct {
		Assets []planAsset `json:"assets"`
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &plan); err != nil {
		t.Fatalf("plan -json: %v\n%s", err, p.stdout)
	}
	out := map[string]string{}
	for _, a := range plan.Assets {
		out[a.Address] = a.Action
	}
	return out
}
