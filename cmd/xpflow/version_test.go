package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// versionRE is the shape of 'xpflow version': the module version, then
// the VCS revision, "(modified)" and commit time when the binary carries
// them, and the Go version on a line of its own.
var versionRE = regexp.MustCompile(`^xpflow (\(devel\)|\(unknown\)|v\S+)(, revision ([0-9a-f]{40}|[0-9a-f]{64})( \(modified\))?(, committed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?)?\nbuilt with go\d+\.\d+\S*\n$`)

// TestVersionShape: the binary the tests run (built however this checkout
// builds it) prints a version of the documented shape.
func TestVersionShape(t *testing.T) {
	t.Parallel()
	r := userRun{dir: t.TempDir()}.run(t, "version").must(t, 0, "version")
	if !versionRE.MatchString(r.stdout) {
		t.Errorf("xpflow version prints %q, which is not of the shape %s", r.stdout, versionRE)
	}
}

// TestVersionStampedRevision builds xpflow from a throwaway git repository
// holding a copy of its sources, with VCS stamping on (CI and this
// checkout may build with -buildvcs=false, and the checkout may not be a
// repository at all), and checks that 'xpflow version' names that commit
// and its time (and the pseudo-version made of them), and 'version -json'
// the same.
func TestVersionStampedRevision(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	gitTool, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH")
	}
	repo := t.TempDir()
	copySources(t, filepath.Join("..", ".."), repo)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitTool, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_AUTHOR_DATE=2026-03-04T05:06:07Z", "GIT_COMMITTER_DATE=2026-03-04T05:06:07Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "stamp")
	rev := git("rev-parse", "HEAD")

	bin := filepath.Join(t.TempDir(), "xpflow")
	build := exec.Command(goTool, "build", "-buildvcs=true", "-o", bin, "./cmd/xpflow")
	build.Dir = repo
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("xpflow version: %v", err)
	}
	// The toolchain derives the module version from the commit too: a
	// pseudo-version of its time and short hash (a tag would give vX.Y.Z).
	want := "xpflow v0.0.0-20260304050607-" + rev[:12] + ", revision " + rev + ", committed 2026-03-04T05:06:07Z\n"
	if !strings.HasPrefix(string(out), want) || !versionRE.Match(out) {
		t.Errorf("xpflow version of a stamped build:\n got %q\nwant %q then the Go version", out, want)
	}
	js, err := exec.Command(bin, "version", "-json").Output()
	if err != nil {
		t.Fatalf("xpflow version -json: %v", err)
	}
	if !strings.Contains(string(js), `"revision": "`+rev+`"`) || !strings.Contains(string(js), `"time": "2026-03-04T05:06:07Z"`) {
		t.Errorf("xpflow version -json of a stamped build:\n%s", js)
	}
}

// copySources copies what building cmd/xpflow needs (go.mod, go.sum, and
// cmd/ and internal/ without tests and test data) from src to dst.
func copySources(t *testing.T, src, dst string) {
	t.Helper()
	for _, name := range []string{"go.mod", "go.sum"} {
		copyFile(t, filepath.Join(src, name), filepath.Join(dst, name))
	}
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(src, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, path)
			switch {
			case d.IsDir() && d.Name() == "testdata":
				return filepath.SkipDir
			case d.IsDir():
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			case strings.HasSuffix(path, "_test.go") || !d.Type().IsRegular():
				return nil
			}
			copyFile(t, path, filepath.Join(dst, rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
