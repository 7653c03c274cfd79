package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReportWhileApplyWrites: report writes its page under out/, so it
// takes the lock that guards out/. While an apply holds it, report from
// inside the campaign directory fails at once with a message naming the
// holder and the way out (-o), and writes nothing; a page written
// elsewhere with -o is fine meanwhile, and once the apply ends the
// default page is written.
func TestReportWhileApplyWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	apply := f.start(t, "apply", "-auto-approve", f.dir)
	f.waitSubmitted(t, apply)

	u := userRun{dir: f.dir}
	start := time.Now()
	r := u.run(t, "report").must(t, 1, "report")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("report waited %s for the lock instead of failing at once", took)
	}
	for _, want := range []string{"cannot write the report", "output directory out is being written by another apply (pid ", "-o FILE"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("report during apply: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dir, "out", "report.html")); !os.IsNotExist(err) {
		t.Errorf("report during apply wrote out/report.html (stat: %v)", err)
	}
	u.run(t, "report", "-o", "../review.html").must(t, 0, "report", "-o", "../review.html")
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.dir), "review.html")); err != nil {
		t.Errorf("report -o outside out/ during apply: %v", err)
	}

	if code := apply.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, apply.stderr)
	}
	r = u.run(t, "report").must(t, 0, "report")
	if !strings.Contains(r.stdout, "to out/report.html") {
		t.Errorf("report after apply:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "out", "report.html")); err != nil {
		t.Errorf("report after apply: %v", err)
	}
}

// TestReportAsUsersType runs report the ways a user does, after a real
// apply: from inside the directory with no DIR, with a relative DIR, with
// -chdir, on an 80-column terminal and piped. Every way names the same
// page, prints a file:// URL that exists, and the terminal gets no
// colour codes in a line a user copies; -json into a pipe parses.
func TestReportAsUsersType(t *testing.T) {
	t.Parallel()
	root, env := workspace(t, quickCampaign)
	camp := filepath.Join(root, "campaign")
	userRun{dir: camp, env: env}.run(t, "apply", "-auto-approve").must(t, 0, "apply")
	page := filepath.Join(camp, "out", "report.html")
	// Outputs are media to share: readable by others, as curl -o leaves
	// them, not 0600 as a temp file is created.
	if fi, err := os.Stat(filepath.Join(camp, "out", "image.hero", "aurora.png")); err != nil {
		t.Errorf("downloaded image: %v", err)
	} else if fi.Mode().Perm() != 0o644 {
		t.Errorf("downloaded image has mode %v, want 0644", fi.Mode().Perm())
	}
	urlRE := regexp.MustCompile(`Open file://(\S+) in a browser\.`)
	check := func(name, out, wantPath string) {
		t.Helper()
		if !strings.Contains(out, "Wrote a report of 2 assets of the spec (2 recorded) to "+wantPath) {
			t.Errorf("%s: output lacks the page's path %s:\n%q", name, wantPath, out)
		}
		m := urlRE.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("%s: no file:// URL:\n%q", name, out)
			return
		}
		if m[1] != filepath.ToSlash(page) {
			t.Errorf("%s: URL names %s, want %s", name, m[1], page)
		}
	}
	for name, tc := range map[string]struct {
		cwd      string
		args     []string
		wantPath string
	}{
		"inside, no DIR":    {cwd: "campaign", args: []string{"report"}, wantPath: "out/report.html"},
		"inside, DIR .":     {cwd: "campaign", args: []string{"report", "."}, wantPath: "out/report.html"},
		"relative DIR":      {cwd: ".", args: []string{"report", "campaign"}, wantPath: "campaign/out/report.html"},
		"dot-slash DIR":     {cwd: ".", args: []string{"report", "./campaign/"}, wantPath: "campaign/out/report.html"},
		"-chdir":            {cwd: ".", args: []string{"-chdir=campaign", "report"}, wantPath: "out/report.html"},
		"from a subdir, ..": {cwd: "campaign/out", args: []string{"report", ".."}, wantPath: "../out/report.html"},
	} {
		if err := os.Remove(page); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		piped := userRun{dir: filepath.Join(root, tc.cwd), env: env}.run(t, tc.args...).must(t, 0, tc.args...)
		check(name+", piped", piped.stdout, tc.wantPath)
		if strings.Contains(piped.stdout+piped.stderr, "\x1b[") {
			t.Errorf("%s, piped: colour codes in %q", name, piped.stdout)
		}
		if _, err := os.Stat(page); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		tty := runOnPTY(t, filepath.Join(root, tc.cwd), env, tc.args...)
		check(name+", on a terminal", strings.ReplaceAll(tty, "\r\n", "\n"), tc.wantPath)
	}
	var doc struct {
		Totals struct {
			Assets int `json:"assets"`
		} `json:"totals"`
		Cards []struct {
			Status string `json:"status"`
		} `json:"cards"`
	}
	r := userRun{dir: camp, env: env}.run(t, "report", "-json").must(t, 0, "report", "-json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("report -json does not parse: %v\n%s", err, r.stdout)
	}
	if doc.Totals.Assets != 2 || len(doc.Cards) != 2 || doc.Cards[0].Status != "completed" {
		t.Errorf("report -json: %d assets, cards %+v; want 2 completed", doc.Totals.Assets, doc.Cards)
	}
}
