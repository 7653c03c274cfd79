package main

import (
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/testbin"
)

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestApplyOnATerminal runs apply on an 80-column pseudo-terminal, as a
// user at a shell does: it asks, takes the typed "yes", and the live view
// shows phases, a roll-up, a bar with the scheduler's ETA, done lines with
// each asset's cost and duration, and never a line wider than the
// terminal.
func TestApplyOnATerminal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd := exec.Command(binary, "apply")
	cmd.Dir = f.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir, "TERM=xterm",
		"XPILOT_BASE_URL=" + f.sim.URL, "XPILOT_API_KEY=" + testKey, "XPILOT_RATE_LIMIT=600"}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 40})
	if err != nil {
		t.Fatalf("start on a pty: %v", err)
	}
	defer tty.Close()
	var out testbin.Output
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, tty); close(copied) }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "Enter a value:"); {
		if time.Now().After(deadline) {
			t.Fatalf("apply on a terminal never asked for confirmation:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a pty across a process boundary
	}
	if _, err := tty.Write([]byte("yes\r")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("apply on a pty: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("apply on a pty did not end\n%s", out.String())
	}
	select { // the pty reports EIO once the child is gone and its output read
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	raw := out.String()
	if strings.Contains(raw, testKey) {
		t.Error("the terminal output shows the API key")
	}
	text := ansiRE.ReplaceAllString(strings.ReplaceAll(raw, "\r", ""), "")
	for _, l := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d columns on an 80-column terminal: %q", n, l)
		}
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`done +video\.spot\["a"\] +\$2\.40 +in \d+s +out/video\.spot/a\.mp4`),
		regexp.MustCompile(`\d generating`),
		regexp.MustCompile(`\[[=-]{20,}\] +\d/4 +spent \$\d+\.\d\d of ~\$9\.60 +ETA \d`),
		regexp.MustCompile(`(?m)^ +generating +video\.spot\["\w"\] +\d+s$`),
		regexp.MustCompile(`Apply complete: 4 done\.`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the terminal output lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ETA estimating") && !regexp.MustCompile(`ETA \d`).MatchString(text) {
		t.Errorf("the ETA never came from the scheduler:\n%s", text)
	}
}

// runOnPTY runs xpflow on an 80-column pty in dir and returns all it
// printed once it exits.
func runOnPTY(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm"}, env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 40})
	if err != nil {
		t.Fatalf("start on a pty: %v", err)
	}
	defer tty.Close()
	var out testbin.Output
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, tty); close(copied) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("xpflow %s on a pty did not end\n%s", strings.Join(args, " "), out.String())
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return out.String()
}

// TestPlanOnATerminalAndPiped: the same plan is coloured on a terminal,
// plain when piped or with NO_COLOR, and otherwise the same text.
func TestPlanOnATerminalAndPiped(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	onTTY := runOnPTY(t, root, env, "-chdir=campaign", "plan")
	if !strings.Contains(onTTY, "\x1b[") {
		t.Errorf("plan on a terminal has no colour:\n%q", onTTY)
	}
	noColor := runOnPTY(t, root, append(env, "NO_COLOR=1"), "-chdir=campaign", "plan")
	if strings.Contains(noColor, "\x1b[") {
		t.Errorf("plan on a terminal with NO_COLOR has colour:\n%q", noColor)
	}
	piped := userRun{dir: root, env: env}.run(t, "-chdir=campaign", "plan").must(t, 0, "plan")
	if strings.Contains(piped.stdout, "\x1b[") {
		t.Errorf("piped plan has colour:\n%q", piped.stdout)
	}
	plain := strings.ReplaceAll(ansiRE.ReplaceAllString(onTTY, ""), "\r\n", "\n")
	if plain != piped.stdout {
		t.Errorf("plan on a terminal, colour removed, differs from piped\n%s", cmp.Diff(piped.stdout, plain))
	}
}
