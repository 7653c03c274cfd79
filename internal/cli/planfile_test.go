package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A saved plan must go stale when a file its prompts read changes, though
// no spec file or variable did.
func TestSavedPlanStaleWhenAReadFileChanges(t *testing.T) {
	dir := t.TempDir()
	spec := "text \"brief\" {\n  prompt = file(\"brief.txt\")\n}\n"
	for name, body := range map[string]string{"s.xp.hcl": spec, "brief.txt": "Write about lamps"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	planPath := filepath.Join(t.TempDir(), "saved.plan")
	if r := (invocation{args: []string{"plan", "-simulate", "-out", planPath, dir}}).run(t); r.code != 0 {
		t.Fatalf("plan -out: exit %d\n%s", r.code, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "brief.txt"), []byte("Write about chairs"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := invocation{args: []string{"apply", planPath}}.run(t)
	if r.code != ExitError || !strings.Contains(r.stderr, "stale") {
		t.Errorf("apply of a plan whose prompt file changed: exit %d, stderr %q; want 1 and stale", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "submitting") {
		t.Errorf("a stale plan submitted something:\n%s", r.stdout)
	}
}
