package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/sim"
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
	p := startOnPTY(t, f.dir, []string{"XPILOT_BASE_URL=" + f.sim.URL, "XPILOT_API_KEY=" + testKey, "XPILOT_RATE_LIMIT=600"}, "apply")
	p.waitFor(t, "Enter a value:", 20*time.Second)
	if _, err := p.tty.Write([]byte("yes\r")); err != nil {
		t.Fatal(err)
	}
	code, raw := p.wait(t, 60*time.Second)
	if code != 0 {
		t.Fatalf("apply on a pty: exit %d\n%s", code, raw)
	}
	if strings.Contains(raw, testKey) {
		t.Error("the terminal output shows the API key")
	}
	text := strings.Join(screenLines(raw), "\n")
	for _, l := range screenLines(raw) {
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

// ptyRun is xpflow running on an 80-column pseudo-terminal.
type ptyRun struct {
	cmd    *exec.Cmd
	tty    *os.File
	out    *testbin.Output // everything printed so far
	done   chan error      // the process's Wait
	copied chan struct{}   // closed once the pty's output is all read
}

// startOnPTY starts xpflow on an 80-column pty in dir.
func startOnPTY(t *testing.T, dir string, env []string, args ...string) *ptyRun {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm"}, env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 40})
	if err != nil {
		t.Fatalf("start on a pty: %v", err)
	}
	t.Cleanup(func() { _ = tty.Close() })
	p := &ptyRun{cmd: cmd, tty: tty, out: &testbin.Output{}, done: make(chan error, 1), copied: make(chan struct{})}
	go func() { _, _ = io.Copy(p.out, tty); close(p.copied) }()
	go func() { p.done <- cmd.Wait() }()
	return p
}

// waitFor polls the terminal's output until it holds want, or fails.
func (p *ptyRun) waitFor(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(p.out.String(), want); {
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			t.Fatalf("xpflow never printed %q on the terminal:\n%s", want, p.out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a pty across a process boundary
	}
}

// wait waits for the process to end and returns its exit code and all it
// printed.
func (p *ptyRun) wait(t *testing.T, limit time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		t.Fatalf("xpflow %s on a pty did not end\n%s", strings.Join(p.cmd.Args[1:], " "), p.out.String())
	}
	select { // the pty reports EIO once the child is gone and its output read
	case <-p.copied:
	case <-time.After(5 * time.Second):
	}
	return p.cmd.ProcessState.ExitCode(), p.out.String()
}

// runOnPTY runs xpflow on an 80-column pty in dir and returns all it
// printed once it exits.
func runOnPTY(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	_, out := startOnPTY(t, dir, env, args...).wait(t, 30*time.Second)
	return out
}

// screenLines is what a terminal shows of raw: colour and cursor
// movement removed, one string per line.
func screenLines(raw string) []string {
	return strings.Split(ansiRE.ReplaceAllString(strings.ReplaceAll(raw, "\r", ""), ""), "\n")
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
	// The colour around an address does not shift the columns after it.
	sameColumn(t, "plan rows on a terminal: cost", plain, regexp.MustCompile(`^  \+ `), "unpriced")
}

// TestRateLimitOnATerminal: when the key's request window is full, the
// live view labels the waiting assets "queued (rate limit)", in their rows
// and in the roll-up, apart from "submitting" and "generating". The
// window is a minute long, so once the label is seen the user's Ctrl-C
// ends the run.
func TestRateLimitOnATerminal(t *testing.T) {
	t.Parallel()
	spec := strings.Replace(quickCampaign, `default = { aurora = "Aurora headphones" }`,
		`default = { aurora = "Aurora headphones", nimbus = "Nimbus pillow", vesper = "Vesper lamp" }`, 1)
	root, env := workspace(t, spec, sim.WithRateLimit(2))
	env = append(env[:len(env):len(env)], "XPILOT_RATE_LIMIT=2") // the last setting wins
	p := startOnPTY(t, filepath.Join(root, "campaign"), env, "apply", "-auto-approve")
	p.waitFor(t, "queued (rate limit)", 20*time.Second)
	p.waitFor(t, "ETA", 5*time.Second)                // a whole frame: rows, roll-up and status
	if _, err := p.tty.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	code, raw := p.wait(t, 20*time.Second)
	if code != 130 {
		t.Errorf("Ctrl-C: exit %d, want 130\n%s", code, raw)
	}
	text := strings.Join(screenLines(raw), "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  queued \(rate limit\) +text\.hook\["\w+"\] +\d+s$`),
		regexp.MustCompile(`(?m)^  (\d+ \w+ · )*\d+ queued \(rate limit\)( · \d+ [\w ]+)*$`),
		regexp.MustCompile(`(?m)^\[[=-]{20,}\]  \d+/6  spent \$\d+\.\d\d \(estimate unknown\)  ETA \S+(  requests 2/2 a min)?$`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the terminal output lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "submitting          text.hook") && !strings.Contains(text, "queued (rate limit) text.hook") {
		t.Errorf("assets waiting for the window read as submitting:\n%s", text)
	}
	if strings.Contains(raw, testKey) {
		t.Error("the terminal output shows the API key")
	}
}

// frameLineRE matches the lines of the live view's redrawn frame: the
// in-flight rows, "… and N more", the roll-up and the status line.
var frameLineRE = regexp.MustCompile(`^(  (queued \(rate limit\)|queued|submitting|generating|downloading) |  … and \d+ more|  \d+ (queued|submitting|generating|downloading|done)\b|\[[=-]+\]  )`)

// TestFortyAssetsOnATerminal: 40 videos at 80 columns. The live view shows
// at most liveMaxRows rows and rolls the rest up ("… and N more", "N
// generating · M done"), truncates long names instead of the bar, and no
// line of its frame is wider than the terminal. The finished lines above
// the frame are a log: they keep the whole file path, and the terminal
// wraps them.
func TestFortyAssetsOnATerminal(t *testing.T) {
	t.Parallel()
	var spec strings.Builder
	spec.WriteString("xpflow {\n  output_dir = \"out\"\n}\n\nvariable \"markets\" {\n  type    = set(string)\n  default = [")
	for i := range 40 {
		if i > 0 {
			spec.WriteString(", ")
		}
		fmt.Fprintf(&spec, "%q", fmt.Sprintf("market-%02d", i))
	}
	spec.WriteString(`]
}

video "a_rather_long_block_name_for_a_product_spot" {
  for_each  = var.markets
  model     = "wan-2.2/image-to-video"
  prompt    = "Spot for ${each.key}."
  image_url = "https://example.com/${each.key}.png"
}
`)
	root, env := workspace(t, spec.String(), sim.WithLatency("video", 2*time.Second, 4*time.Second))
	code, raw := startOnPTY(t, filepath.Join(root, "campaign"), env, "apply", "-auto-approve").wait(t, 90*time.Second)
	if code != 0 {
		t.Fatalf("apply of 40 videos on a pty: exit %d\n%s", code, raw)
	}
	lines := screenLines(raw)
	frames, rows := 0, 0
	for _, l := range lines {
		if !frameLineRE.MatchString(l) {
			continue
		}
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a frame line of %d columns on an 80-column terminal: %q", n, l)
		}
		switch {
		case strings.HasPrefix(l, "["):
			frames++
			if bar := strings.Count(l[:strings.IndexByte(l, ']')], "=") + strings.Count(l[:strings.IndexByte(l, ']')], "-"); bar < 20 {
				t.Errorf("the bar is %d columns, narrower than its minimum 20: %q", bar, l)
			}
			rows = 0
		case strings.HasPrefix(l, "  … and") || regexp.MustCompile(`^  \d`).MatchString(l):
		default:
			if rows++; rows > 8 {
				t.Errorf("a frame shows more than 8 in-flight rows:\n%s", strings.Join(lines, "\n"))
			}
		}
	}
	if frames == 0 {
		t.Fatalf("no frame of the live view on the terminal:\n%s", raw)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  … and 3\d more in flight$`),
		regexp.MustCompile(`(?m)^  (\d+ [a-z ()]+ · )*\d+ generating( · \d+ [a-z ()]+)*$`),
		// A row too long for the terminal cuts the block's name and keeps
		// the instance key, which tells the rows apart.
		regexp.MustCompile(`(?m)^  generating +video\.a_rather_long_block_name_for_a_pr\S*…\["market-\d\d"\] +\d+s$`),
		regexp.MustCompile(`(?m)^\[[=-]{20,}\]  \d+/40  spent \$\d+\.\d\d of ~\$\d+\.\d\d  ETA`),
		regexp.MustCompile(`(?m)^ +\d+\.\ds  done +video\.a_rather_long_block_name_for_a_product_spot\["market-00"\]  \$\d+\.\d\d  in \d+s  out/video\.a_rather_long_block_name_for_a_product_spot/market-00\S*\.mp4$`),
		regexp.MustCompile(`Apply complete: 40 done\.`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the terminal output lacks %s:\n%s", want, text)
		}
	}
}
