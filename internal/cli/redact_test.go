package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanHidesSensitiveVariables(t *testing.T) {
	dir := t.TempDir()
	src := `
variable "codename" {
  type      = string
  sensitive = true
  default   = "Project Nightjar"
}
variable "public" {
  type    = string
  default = "Aurora"
}
text "teaser" {
  prompt = "Tease ${var.public}, internally ${var.codename}"
}
`
	if err := os.WriteFile(filepath.Join(dir, "s.xp.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"plan", "-simulate", dir}, {"apply", "-simulate", "-auto-approve", dir}} {
		r := invocation{args: args}.run(t)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		if strings.Contains(r.stdout, "Nightjar") {
			t.Errorf("%v shows a sensitive value:\n%s", args, r.stdout)
		}
		if args[0] == "plan" && !strings.Contains(r.stdout, `"Tease Aurora, internally (sensitive)"`) {
			t.Errorf("plan should show the prompt with the sensitive part hidden:\n%s", r.stdout)
		}
	}
}
