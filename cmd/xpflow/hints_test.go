package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHintsRunAsPrinted: the next command plan -out and init print works
// when pasted into a shell where the user typed theirs, also with -chdir
// (the plan path is relative to it) and with names that need quoting.
func TestHintsRunAsPrinted(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to paste the hints into")
	}
	root, env := workspace(t, quickCampaign)
	u := userRun{dir: root, env: env}
	paste := func(line string) userResult {
		t.Helper()
		cmd := exec.Command(sh, "-c", line)
		cmd.Dir = root
		cmd.Env = append([]string{"PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH"), "HOME=" + root}, env...)
		out, err := cmd.CombinedOutput()
		r := userResult{stdout: string(out)}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("sh -c %q: %v", line, err)
		}
		return r
	}
	hintRE := regexp.MustCompile(`(?m)(?:with|Next): (xpflow .*)$`)
	for _, tc := range []struct {
		name  string
		args  []string
		check func(r userResult) bool
	}{
		{name: "plan -chdir -out ../FILE", args: []string{"-chdir=campaign", "plan", "-out", "../saved.plan"},
			check: func(r userResult) bool { return strings.Contains(r.stdout, "Apply complete: 2 done") }},
		{name: "plan -out with a space and a quote", args: []string{"plan", "-replace", "image.hero", "-out", "my plan's file", "campaign"},
			check: func(r userResult) bool { return strings.Contains(r.stdout, "Apply complete: 1 done, 1 unchanged") }},
		{name: "init with a space", args: []string{"init", "new campaign"},
			check: func(r userResult) bool { return strings.Contains(r.stdout, "3 to create") }},
	} {
		name := tc.name
		r := u.run(t, tc.args...).must(t, 0, tc.args...)
		m := hintRE.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Errorf("%s: no hint in:\n%s", name, r.stdout)
			continue
		}
		line := m[1]
		if got := paste(line); got.code != 0 || !tc.check(got) {
			t.Errorf("%s: the printed hint %q, run where the command was typed: exit %d\n%s", name, m[1], got.code, got.stdout)
		}
	}
}
