package state

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// aliasLayout is a campaign directory holding a symlinked state file, as a
// user sets it up: spec/xpflow.state.json -> ../real/state.json. It returns
// the root; the test runs inside it.
func aliasLayout(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"spec", "real", "bound"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Symlink("../real/state.json", filepath.Join(root, "spec", "xpflow.state.json")))
	must(t, os.Symlink("real", filepath.Join(root, "reallink")))
	must(t, os.Symlink(filepath.Join(root, "spec", "xpflow.state.json"), filepath.Join(root, "chain.json")))
	t.Chdir(root)
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// bindMount mounts dir on target (which must exist) when the test runs as
// root with mount(8), and reports whether it did.
func bindMount(t *testing.T, dir, target string) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if _, err := exec.LookPath("mount"); err != nil {
		return false
	}
	if out, err := exec.Command("mount", "--bind", dir, target).CombinedOutput(); err != nil {
		t.Logf("no bind mount (%v: %s); testing the other aliases", err, out)
		return false
	}
	t.Cleanup(func() { _ = exec.Command("umount", target).Run() })
	return true
}

// TestEveryAliasOfTheStateFileSharesOneLock opens the real state file, then
// tries every other spelling of it: each must be refused, because two
// applies on one state would each pay for every asset.
func TestEveryAliasOfTheStateFileSharesOneLock(t *testing.T) {
	root := aliasLayout(t)
	aliases := map[string]string{
		"symlinked file (relative)":  "spec/xpflow.state.json",
		"symlinked file (absolute)":  filepath.Join(root, "spec", "xpflow.state.json"),
		"path with ..":               "spec/../real/state.json",
		"symlinked directory":        "reallink/state.json",
		"chain of links":             "chain.json",
		"real file, absolute path":   filepath.Join(root, "real", "state.json"),
		"dot segments":               "./real/./state.json",
		"link dir then .. and back":  "reallink/../real/state.json",
		"symlink named with ./ only": "./spec/xpflow.state.json",
	}
	if bindMount(t, filepath.Join(root, "real"), filepath.Join(root, "bound")) {
		aliases["bind mount of the directory"] = "bound/state.json"
	}
	holder, err := Open("real/state.json")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for name, alias := range aliases {
		t.Run(name, func(t *testing.T) {
			s, err := Open(alias)
			if s != nil {
				s.Close()
			}
			var locked *LockedError
			if !errors.As(err, &locked) {
				t.Fatalf("Open(%q) while real/state.json is open = %v, want *LockedError", alias, err)
			}
			if locked.Path != alias || locked.PID != os.Getpid() {
				t.Errorf("LockedError = %+v, want path %q and our pid", locked, alias)
			}
		})
	}
}

// TestWritesGoThroughTheLink checks that an update through a symlinked state
// file changes the real file and leaves the link a link: replacing the link
// with a regular file would split the state in two.
func TestWritesGoThroughTheLink(t *testing.T) {
	root := aliasLayout(t)
	s, err := Open("spec/xpflow.state.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Path(), filepath.Join(root, "real", "state.json"); got != want {
		t.Errorf("Path() = %q, want the real file %q", got, want)
	}
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	lineage := s.Snapshot().Lineage
	must(t, s.Close())

	fi, err := os.Lstat("spec/xpflow.state.json")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("spec/xpflow.state.json is now %v, want it still a symlink", fi.Mode())
	}
	for _, p := range []string{"real/state.json", "spec/xpflow.state.json"} {
		st, err := Load(p)
		if err != nil {
			t.Fatalf("Load(%s): %v", p, err)
		}
		if diff := cmp.Diff(lineage, st.Lineage); diff != "" || len(st.Assets) == 0 {
			t.Errorf("Load(%s): lineage (-want +got) %s, %d assets; want the written state", p, diff, len(st.Assets))
		}
	}
	if _, err := os.Stat("spec/xpflow.state.json.lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock file next to the link exists (%v): the lock must be taken on the real file", err)
	}
}

// TestDanglingLinkIsCreatedAtItsTarget: a link to a state file that does
// not exist yet is followed, so the first write creates the target.
func TestDanglingLinkIsCreatedAtItsTarget(t *testing.T) {
	aliasLayout(t)
	s, err := Open("spec/xpflow.state.json")
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Update(fill))
	must(t, s.Close())
	if _, err := Load("real/state.json"); err != nil {
		t.Errorf("the link's target was not written: %v", err)
	}
}

func TestLinkLoopIsAnError(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	must(t, os.Symlink(b, a))
	must(t, os.Symlink(a, b))
	s, err := Open(a)
	if s != nil {
		s.Close()
	}
	if err == nil {
		t.Fatal("Open of a symlink loop succeeded")
	}
}

// TestSymlinkedStateLockedAcrossProcesses is the issue as reported: one
// process holds the state through spec/xpflow.state.json, a symlink;
// another opens real/state.json and must be refused.
func TestSymlinkedStateLockedAcrossProcesses(t *testing.T) {
	root := aliasLayout(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessHoldsLock$")
	cmd.Env = append(os.Environ(), helperEnv+"="+filepath.Join(root, "spec", "xpflow.state.json"))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	must(t, cmd.Start())
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v; want \"locked\"", line, err)
	}
	s, err := Open("real/state.json")
	if s != nil {
		s.Close()
	}
	var locked *LockedError
	if !errors.As(err, &locked) || locked.PID != cmd.Process.Pid {
		t.Fatalf("Open(real/state.json) while the helper (pid %d) holds the link = %v, want *LockedError naming it", cmd.Process.Pid, err)
	}
	if want := strconv.Itoa(cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name pid %s", err, want)
	}
}
