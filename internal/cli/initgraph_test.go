package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run calls xpflow in-process with no environment, through the package's
// shared invocation, which also checks for escape codes and the API key.
func runCLIForInit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	r := invocation{args: args}.run(t)
	return r.code, r.stdout, r.stderr
}

func TestInitWritesAValidSpecAndNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "campaign")
	if code, _, stderr := runCLIForInit(t, "init", dir); code != 0 {
		t.Fatalf("init exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := runCLIForInit(t, "validate", dir); code != 0 || !strings.Contains(stdout, "3 asset instances") {
		t.Fatalf("validate of the starter spec: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, _ := runCLIForInit(t, "plan", "-simulate", dir); code != 0 {
		t.Fatalf("plan -simulate of the starter spec: exit %d", code)
	}
	path := filepath.Join(dir, "main.xp.hcl")
	if err := os.WriteFile(path, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLIForInit(t, "init", dir)
	if code != ExitError || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second init: exit %d, stderr %q; want 1 and 'already exists'", code, stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != "# mine\n" {
		t.Fatalf("init overwrote the spec: %q", b)
	}
}

func TestGraphSVG(t *testing.T) {
	code, stdout, stderr := runCLIForInit(t, "graph", "-format", "svg", "../../examples/launch")
	if _, err := exec.LookPath("dot"); err != nil {
		if code != ExitError || !strings.Contains(stderr, "needs Graphviz") {
			t.Fatalf("without dot: exit %d, stderr %q; want 1 naming Graphviz", code, stderr)
		}
		return
	}
	if code != 0 || !strings.Contains(stdout, "<svg") || !strings.Contains(stdout, "video.spot") {
		t.Fatalf("with dot: exit %d, stdout starts %.80q, stderr %q", code, stdout, stderr)
	}
}
