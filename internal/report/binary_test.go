package report_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/testbin"
)

// xpflowBin is the xpflow binary, built once by TestMain, for the tests
// that run report as a user types it.
var xpflowBin string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &xpflowBin)) }

// runBin runs the binary in dir with the given environment additions and
// returns its exit code, stdout and stderr. Its stdout is a pipe, as in
// `xpflow report -json | jq`.
func runBin(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(xpflowBin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run xpflow: %v", err)
	}
	return code, out.String(), errb.String()
}

// TestBinaryReport runs the built binary the ways a user would: from
// inside the campaign directory with relative paths, with -chdir from
// its parent, and with -json into a pipe, with the API key in the
// environment and inside the state; the key must never come out.
func TestBinaryReport(t *testing.T) {
	const key = "xp_live_binarytestkey0001"
	parent := t.TempDir()
	dir := filepath.Join(parent, "campaign")
	copyFixture(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(smallSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "xpflow.simulate.state.json")
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "Quiet is the new", "Quiet is "+key+" the new", 1))
	if err := os.WriteFile(statePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"XPILOT_API_KEY=" + key}

	code, stdout, stderr := runBin(t, dir, env, "report", "-simulate", "-o", "review/page.html")
	if code != 0 {
		t.Fatalf("report from inside the directory: exit %d\nstderr:\n%s", code, stderr)
	}
	want := "Wrote a report of 4 assets of the spec (8 recorded) to review/page.html\nOpen file://" +
		filepath.ToSlash(filepath.Join(dir, "review", "page.html")) + " in a browser.\n"
	if stdout != want {
		t.Errorf("stdout: got %q, want %q", stdout, want)
	}
	page := readPage(t, filepath.Join(dir, "review", "page.html"))
	for _, s := range []string{`"src":"../out/image.hero/a%20b%231.png"`, `"address":"image.hero","block":"image.hero","kind":"image","model":"bytedance/seedream-4.5","status":"planned"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page: got no %q, want it", s)
		}
	}

	code, _, stderr = runBin(t, parent, env, "-chdir=campaign", "report", "-simulate")
	if code != 0 {
		t.Fatalf("report with -chdir: exit %d\nstderr:\n%s", code, stderr)
	}
	page = readPage(t, filepath.Join(dir, "out", "simulate", "report.html"))
	if !strings.Contains(page, `"src":"../image.hero/a%20b%231.png"`) {
		t.Errorf("page written with -chdir: got no media path relative to out/simulate/, want one")
	}

	// Through a symbolic link to the campaign, the page still finds and
	// checks its files.
	if err := os.Symlink("campaign", filepath.Join(parent, "link")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runBin(t, parent, env, "report", "-simulate", "link")
	if code != 0 {
		t.Fatalf("report through a symlink: exit %d\nstderr:\n%s", code, stderr)
	}
	page = readPage(t, filepath.Join(parent, "link", "out", "simulate", "report.html"))
	if !strings.Contains(page, `"src":"../image.hero/a%20b%231.png","name":"a b#1.png","type":"image","size":"16 B","check":"ok"`) {
		t.Errorf("page written through a symlink: got no checked image, want one")
	}

	code, stdout, stderr = runBin(t, parent, env, "report", "-simulate", "-json", "campaign")
	if code != 0 {
		t.Fatalf("report -json: exit %d\nstderr:\n%s", code, stderr)
	}
	var got struct {
		Cards []struct{ Address string } `json:"cards"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("report -json into a pipe: %v\n%s", err, stdout)
	}
	if len(got.Cards) != 11 {
		t.Errorf("report -json: got %d cards, want 11 (4 of the spec, 8 recorded, text.hook[\"a\"] in both)", len(got.Cards))
	}
	for name, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if strings.Contains(s, key) {
			t.Errorf("%s holds the API key", name)
		}
	}
	if !strings.Contains(stdout, "Quiet is [REDACTED] the new") {
		t.Errorf("report -json: got no redacted text, want %q", "Quiet is [REDACTED] the new")
	}
}

// readPage reads a written page and checks it holds no API key.
func readPage(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	if strings.Contains(string(b), "xp_live_binarytestkey0001") {
		t.Errorf("%s holds the API key", path)
	}
	return string(b)
}

// TestBinaryReportDuringApply runs report again and again while another
// process applies the campaign: every run must succeed on a consistent
// state, never a torn one, and the last one, after apply, must show the
// whole campaign completed.
func TestBinaryReportDuringApply(t *testing.T) {
	srv, err := sim.Start("", sim.WithLatency("video", 300*time.Millisecond, 900*time.Millisecond),
		sim.WithLatency("image", 100*time.Millisecond, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	copyFile(t, "../../examples/launch/launch.xp.hcl", filepath.Join(dir, "launch.xp.hcl"))
	env := []string{"XPILOT_BASE_URL=" + srv.URL, "XPILOT_API_KEY=" + srv.Key}

	apply := exec.Command(xpflowBin, "apply", "-auto-approve", ".")
	apply.Dir = dir
	apply.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var applyErr strings.Builder
	apply.Stderr = &applyErr
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- apply.Wait() }()

	type snapshot struct {
		Serial int `json:"serial"`
		Totals struct {
			Statuses map[string]int `json:"statuses"`
		} `json:"totals"`
	}
	read := func() snapshot {
		t.Helper()
		code, stdout, stderr := runBin(t, dir, env, "report", "-json")
		if code != 0 {
			t.Fatalf("report during apply: exit %d\nstderr:\n%s", code, stderr)
		}
		var s snapshot
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("report during apply: %v\n%s", err, stdout)
		}
		return s
	}
	runs, last := 0, -1
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("apply: %v\nstderr:\n%s", err, applyErr.String())
			}
			finished = true
		default:
			s := read()
			if s.Serial < last {
				t.Errorf("report %d: state serial went back from %d to %d", runs, last, s.Serial)
			}
			last = s.Serial
			runs++
		}
	}
	final := read()
	if diff := cmp.Diff(map[string]int{"completed": 9}, final.Totals.Statuses); diff != "" {
		t.Errorf("report after apply (-want +got):\n%s", diff)
	}
	t.Logf("%d reports while apply ran, the last at serial %d", runs, last)
}
