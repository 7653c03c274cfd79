package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestApplyOnATerminal runs apply on an 80-column pseudo-terminal, as a
// user at a shell does: the live view shows phases, a roll-up, a bar with
// the scheduler's ETA, done lines with each asset's cost and duration, and
// never a line wider than the terminal.
func TestApplyOnATerminal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd := exec.Command(binary, "apply", "-auto-approve")
	cmd.Dir = f.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir, "TERM=xterm",
		"XPILOT_BASE_URL=" + f.sim.URL, "XPILOT_API_KEY=" + testKey, "XPILOT_RATE_LIMIT=600"}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 40})
	if err != nil {
		t.Fatalf("start on a pty: %v", err)
	}
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, tty); close(copied) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("apply on a pty: %v\n%s", err, &out)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("apply on a pty did not end\n%s", &out)
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
