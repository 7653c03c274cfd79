package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/cli"
	"github.com/xpflow/xpflow/internal/report"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// fixtureState is the hand-written state shared with the package's own
// tests.
const fixtureState = "../../testdata/report/state.json"

// run calls cli.Main in-process with an empty environment and returns its
// exit code, stdout and stderr.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with environment variables.
func runEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return vars[k] },
	}
	code = cli.Main(env, args)
	return code, out.String(), errb.String()
}

// copyFixture copies the fixture state and its two downloaded files into
// dir, the state as the -simulate state.
func copyFixture(t *testing.T, dir string) {
	t.Helper()
	copyFile(t, fixtureState, filepath.Join(dir, "xpflow.simulate.state.json"))
	for _, f := range []string{"out/image.hero/a b#1.png", "out/video.spot/a.mp4"} {
		copyFile(t, filepath.Join("../../testdata/report", f), filepath.Join(dir, filepath.FromSlash(f)))
	}
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
			wantFile:   "out/simulate/report.html",
			wantInPage: `"src":"../image.hero/a%20b%231.png"`,
			wantStdout: "Wrote a report of 8 recorded assets to ",
		},
		"-state and -o elsewhere": {
			args: func(dir string) []string {
				return []string{"report", "-state", filepath.Join(dir, "xpflow.simulate.state.json"),
					"-o", filepath.Join(dir, "review", "page.html"), dir}
			},
			wantFile:   "review/page.html",
			wantInPage: `"src":"../out/image.hero/a%20b%231.png"`,
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
			copyFixture(t, dir)
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

// smallSpec is a campaign of two texts, one of which an image reads, and a
// video of that image; the key of the second text comes from a sensitive
// variable.
const smallSpec = `
variable "secret" {
  type      = string
  sensitive = true
  default   = "hunter2-sensitive"
}

text "hook" {
  for_each = toset(["a", "b"])
  model    = "openai/gpt-4o"
  prompt   = "Write a hook ${each.key} ${var.secret}."
}

image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "${text.hook["a"].content} product shot"
}

video "spot" {
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in."
  image_url = image.hero.url
  duration  = 8
}
`

// TestReportCommandShowsTheWholeSpec runs report from inside the spec
// directory, with no DIR, before anything was generated: every asset of
// the spec gets a card that says it was never generated, and the video is
// priced from the simulator's catalog.
func TestReportCommandShowsTheWholeSpec(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(smallSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, stdout, stderr := run(t, "report", "-simulate")
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", code, stderr)
	}
	if want := "Wrote a report of 4 assets of the spec (0 recorded) to " + filepath.Join("out", "simulate", "report.html"); !strings.Contains(stdout, want) {
		t.Errorf("stdout: got %q, want it to contain %q", stdout, want)
	}
	page, err := os.ReadFile(filepath.Join("out", "simulate", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`"address":"video.spot","block":"video.spot","kind":"video","model":"seedance-2.0/image-to-video","status":"planned","reason":"it waits for image.hero (not generated yet)","estimated_cents":`,
		`"price_source":"catalog"`,
		`No state at xpflow.simulate.state.json yet: nothing has been generated.`,
		`data-planned="4"`,
	} {
		if !strings.Contains(string(page), s) {
			t.Errorf("page: got no %q in it, want it", s)
		}
	}
	if strings.Contains(string(page), "hunter2-sensitive") {
		t.Errorf("page: holds the value of a sensitive variable, want it redacted")
	}
	if !strings.Contains(string(page), "Write a hook b [REDACTED].") {
		t.Errorf("page: got no redacted prompt %q, want it", "Write a hook b [REDACTED].")
	}
}

// TestReportCommandWithBrokenSpec checks that a spec with errors still
// gives a page of the recorded assets, says so, and prints the errors.
func TestReportCommandWithBrokenSpec(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte("text \"x\" {\n  prompt = local.nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "report", "-simulate", dir)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "8 recorded assets") {
		t.Errorf("stdout: got %q, want the 8 recorded assets", stdout)
	}
	if !strings.Contains(stderr, "main.xp.hcl") {
		t.Errorf("stderr: got %q, want the spec's diagnostics", stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, "out", "simulate", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "The spec has errors (run xpflow validate): the page shows the state&#39;s records only."; !strings.Contains(string(page), want) {
		t.Errorf("page: got no %q, want it", want)
	}
}

// TestReportCommandRedactsTheKey puts the API key in a generated text, a
// failure reason and a prompt: the page must not hold it anywhere.
func TestReportCommandRedactsTheKey(t *testing.T) {
	const key = "xp_live_0123456789abcdef"
	dir := t.TempDir()
	copyFixture(t, dir)
	st, err := state.Load(filepath.Join(dir, "xpflow.simulate.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	st.Assets[`text.hook["a"]`].Content = "XPILOT_API_KEY=" + key + "\x00HOME=/root"
	st.Assets[`video.spot["b"]`].Error = "generation failed: bad key " + key
	st.Assets[`image.hero["a"]`].Request["prompt"] = "<b>" + key + "</b>"
	b, err := state.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "xpflow.simulate.state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runEnv(t, map[string]string{"XPILOT_API_KEY": key}, "report", "-simulate", dir)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", code, stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, "out", "simulate", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), key) || strings.Contains(string(page), "0123456789abcdef") {
		t.Errorf("page holds the API key")
	}
	if got := strings.Count(string(page), "[REDACTED]"); got < 3 {
		t.Errorf("page: got %d [REDACTED] marks, want at least 3", got)
	}
}

// TestReportCommandJSON prints the page's data instead of writing the page.
func TestReportCommandJSON(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir)
	code, stdout, stderr := run(t, "report", "-simulate", "-json", dir)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", code, stderr)
	}
	var got struct {
		FormatVersion string `json:"format_version"`
		Totals        struct {
			Assets      int            `json:"assets"`
			ActualCents int            `json:"actual_cents"`
			Statuses    map[string]int `json:"statuses"`
			Files       map[string]int `json:"files"`
		} `json:"totals"`
		Cards []struct {
			Address string `json:"address"`
			Status  string `json:"status"`
		} `json:"cards"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.FormatVersion != "1" || got.Totals.Assets != 8 || len(got.Cards) != 8 || got.Totals.ActualCents != 491 ||
		got.Totals.Statuses["failed"] != 1 || got.Totals.Files["ok"] != 2 {
		t.Errorf("report -json: got version %q, %d assets, %d cards, %d cents spent, statuses %v, files %v; want 1, 8, 8, 491, one failed, 2 ok",
			got.FormatVersion, got.Totals.Assets, len(got.Cards), got.Totals.ActualCents, got.Totals.Statuses, got.Totals.Files)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "report.html")); err == nil {
		t.Errorf("report -json wrote a page; want only stdout")
	}
}

// TestReportCommandOutputDir writes the page into the spec's output_dir
// by default, and the page of simulated runs into its simulate/
// subdirectory, where apply -simulate writes, so neither replaces the
// other.
func TestReportCommandOutputDir(t *testing.T) {
	dir := t.TempDir()
	spec := "xpflow {\n  output_dir = \"renders\"\n}\n" + smallSpec
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", dir}, filepath.Join(dir, "renders", "report.html")},
		{[]string{"report", "-simulate", dir}, filepath.Join(dir, "renders", "simulate", "report.html")},
	} {
		code, stdout, stderr := run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit code %d, want 0\nstderr:\n%s", tc.args, code, stderr)
		}
		if !strings.Contains(stdout, " to "+tc.want+"\n") {
			t.Errorf("%v: stdout %q, want the page at %s", tc.args, stdout, tc.want)
		}
		if _, err := os.Stat(tc.want); err != nil {
			t.Errorf("%v: page: %v", tc.args, err)
		}
	}
}

// TestReportCommandAssetInError: one asset of the spec cannot be
// evaluated. The page still shows the whole campaign; that asset's card
// quotes the diagnostic with its line, and what depends on it is skipped.
func TestReportCommandAssetInError(t *testing.T) {
	dir := t.TempDir()
	spec := `text "ok" {
  prompt = "fine"
}

text "bad" {
  prompt = file("nope.txt")
}

image "pic" {
  model  = "bytedance/seedream-4.5"
  prompt = text.bad.content
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "report", "-simulate", "-json", dir)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `main.xp.hcl line 6, in text "bad"`) {
		t.Errorf("stderr: got %q, want the diagnostic of line 6", stderr)
	}
	var got struct {
		Notes []string `json:"notes"`
		Cards []struct {
			Address, Status, Reason string
		} `json:"cards"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, c := range got.Cards {
		status[c.Address] = c.Status
		if c.Address == "text.bad" && (!strings.Contains(c.Reason, `Call to function "file" failed`) || !strings.HasSuffix(c.Reason, "(main.xp.hcl:6)")) {
			t.Errorf("text.bad reason: got %q, want the file() error at main.xp.hcl:6", c.Reason)
		}
	}
	want := map[string]string{"text.ok": "planned", "text.bad": "error", "image.pic": "skipped"}
	if diff := cmp.Diff(want, status); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(got.Notes, "\n"), "The spec cannot evaluate 1 asset;") {
		t.Errorf("notes: got %q, want one about the asset in error", got.Notes)
	}
}

// TestReportCommandNoSpec leaves the spec out on request: the page shows
// the state's records only.
func TestReportCommandNoSpec(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(smallSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		hasPlan bool
	}{
		{[]string{"report", "-simulate", "-json", dir}, true},
		{[]string{"report", "-simulate", "-no-spec", "-json", dir}, false},
	} {
		code, stdout, stderr := run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit code %d, want 0\nstderr:\n%s", tc.args, code, stderr)
		}
		var got struct {
			HasPlan bool              `json:"has_plan"`
			Cards   []json.RawMessage `json:"cards"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		wantCards := 8
		if tc.hasPlan {
			wantCards = 11
		}
		if got.HasPlan != tc.hasPlan || len(got.Cards) != wantCards {
			t.Errorf("%v: got has_plan %v and %d cards, want %v and %d", tc.args, got.HasPlan, len(got.Cards), tc.hasPlan, wantCards)
		}
	}
}

// TestReportCommandHostileFiles puts a FIFO and a link to /dev/zero at
// the two recorded output paths, with a spec so that the plan checks them
// too: report must finish, mark both, and link neither.
func TestReportCommandHostileFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero on windows")
	}
	dir := t.TempDir()
	copyFixture(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(smallSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	img, vid := filepath.Join(dir, "out", "image.hero", "a b#1.png"), filepath.Join(dir, "out", "video.spot", "a.mp4")
	for _, p := range []string{img, vid} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := report.Mkfifo(img); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", vid); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := run(t, "report", "-simulate", "-json", dir)
		done <- result{code, stdout, stderr}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("report hung on a FIFO or /dev/zero at an output path")
	}
	if r.code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	var got struct {
		Totals struct {
			Files map[string]int `json:"files"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"not-regular": 2, "not-downloaded": 1}, got.Totals.Files); diff != "" {
		t.Errorf("file checks (-want +got):\n%s", diff)
	}
	if strings.Contains(r.stdout, `"src"`) {
		t.Errorf("report links a file; want none linked")
	}
}

// TestReportCommandShowsTakes applies the launch campaign against a
// loopback simulator, changes the videos' prompt and applies again: each
// video's card carries its first take, its file intact under its
// content-addressed name, and the cost of both takes counts as spent.
func TestReportCommandShowsTakes(t *testing.T) {
	srv, err := sim.Start("", sim.WithLatency("video", 20*time.Millisecond, 50*time.Millisecond),
		sim.WithLatency("image", 10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	env := map[string]string{"XPILOT_BASE_URL": srv.URL, "XPILOT_API_KEY": srv.Key}
	dir := t.TempDir()
	spec := filepath.Join(dir, "launch.xp.hcl")
	copyFile(t, "../../examples/launch/launch.xp.hcl", spec)
	apply := func() {
		t.Helper()
		if code, _, stderr := runEnv(t, env, "apply", "-auto-approve", dir); code != 0 {
			t.Fatalf("apply: exit code %d\nstderr:\n%s", code, stderr)
		}
	}
	apply()
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte(strings.Replace(string(b), "gentle light sweep", "slow orbit", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	apply()
	code, stdout, stderr := runEnv(t, env, "report", "-json", dir)
	if code != 0 {
		t.Fatalf("report: exit code %d\nstderr:\n%s", code, stderr)
	}
	var got struct {
		Totals struct {
			ActualCents int            `json:"actual_cents"`
			Files       map[string]int `json:"files"`
		} `json:"totals"`
		Cards []struct {
			Address    string `json:"address"`
			Prompt     string `json:"prompt"`
			TakesCents int    `json:"takes_cents"`
			Takes      []struct {
				N      int    `json:"n"`
				Prompt string `json:"prompt"`
				Files  []struct {
					Path, Src, Check string
				} `json:"files"`
			} `json:"takes"`
		} `json:"cards"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	videos := 0
	for _, c := range got.Cards {
		if !strings.HasPrefix(c.Address, "video.spot[") {
			if len(c.Takes) != 0 {
				t.Errorf("%s: got %d earlier takes, want none (it was not generated again)", c.Address, len(c.Takes))
			}
			continue
		}
		videos++
		if len(c.Takes) != 1 || len(c.Takes[0].Files) != 1 {
			t.Errorf("%s: got takes %+v, want one earlier take with one file", c.Address, c.Takes)
			continue
		}
		tk, f := c.Takes[0], c.Takes[0].Files[0]
		if tk.N != 1 || !strings.Contains(tk.Prompt, "gentle light sweep") || !strings.Contains(c.Prompt, "slow orbit") {
			t.Errorf("%s: take %d prompt %q, current prompt %q; want take 1 with the old prompt", c.Address, tk.N, tk.Prompt, c.Prompt)
		}
		if f.Check != "ok" || f.Src == "" || !regexp.MustCompile(`\.[0-9a-f]{8}\.mp4$`).MatchString(f.Path) {
			t.Errorf("%s: earlier take's file %+v, want an intact, linked, content-addressed file", c.Address, f)
		}
		if c.TakesCents <= 0 {
			t.Errorf("%s: earlier takes cost %d cents, want what the first video cost", c.Address, c.TakesCents)
		}
	}
	if videos != 3 {
		t.Errorf("video cards: got %d, want 3", videos)
	}
	if got.Totals.Files["ok"] != 9 || len(got.Totals.Files) != 1 {
		t.Errorf("file checks: got %v, want 9 ok (3 images and 3 videos, 3 earlier takes)", got.Totals.Files)
	}
}

// TestReportCommandOutsideFiles: a prompt read from outside the spec
// directory is an error card unless -allow-outside-files is given, as for
// plan and apply.
func TestReportCommandOutsideFiles(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "campaign")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "brief.txt"), []byte("A shared brief."), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := "text \"hook\" {\n  prompt = file(\"../brief.txt\")\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args             []string
		status, contains string
	}{
		{[]string{"report", "-json", dir}, "error", "outside"},
		{[]string{"report", "-json", "-allow-outside-files", dir}, "planned", ""},
	} {
		code, stdout, stderr := run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit code %d, want 0\nstderr:\n%s", tc.args, code, stderr)
		}
		var got struct {
			Cards []struct{ Status, Reason, Prompt string } `json:"cards"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Cards) != 1 || got.Cards[0].Status != tc.status || !strings.Contains(got.Cards[0].Reason, tc.contains) {
			t.Errorf("%v: got cards %+v, want one %s card (reason with %q)", tc.args, got.Cards, tc.status, tc.contains)
		}
		if tc.status == "planned" && got.Cards[0].Prompt != "A shared brief." {
			t.Errorf("%v: prompt %q, want the file's text", tc.args, got.Cards[0].Prompt)
		}
	}
}
