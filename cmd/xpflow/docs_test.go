package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The docs tests run what docs/ shows, so the docs cannot drift from the
// code: every function example against its documented result, every HCL
// example through fmt -check and validate, and every shell example of docs/cli.md in
// order, comparing its output where the docs show one.

const docsDir = "../../docs"

// copyExamples returns a temp directory holding a copy of examples/, the
// workspace of a reader following the docs.
func copyExamples(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	if out, err := exec.Command("cp", "-r", "../../examples", ws).CombinedOutput(); err != nil {
		t.Fatalf("copy examples: %v\n%s", err, out)
	}
	return ws
}

// fence is one fenced block of a Markdown file.
type fence struct {
	file, lang, body string
	line             int
	// output is the plain block right after this one (blank lines
	// between), which documents what it prints; "" if none.
	output string
}

func fences(t *testing.T, path string) []fence {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fence
	var cur *fence
	var body []string
	var indent string // of the open block: a block in a list item is indented
	gap := true       // only blank lines since the last block closed
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		trimmed := strings.TrimLeft(l, " ")
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur, body = &fence{file: filepath.Base(path), lang: strings.TrimPrefix(trimmed, "```"), line: n}, nil
			indent = l[:len(l)-len(trimmed)]
		case cur != nil && trimmed == "```":
			cur.body = strings.Join(body, "\n") + "\n"
			if k := len(out) - 1; gap && k >= 0 && (cur.lang == "" || cur.lang == "text") && out[k].lang == "sh" && out[k].line+strings.Count(out[k].body, "\n")+2 >= n-len(body)-3 {
				out[k].output = cur.body
			} else {
				out = append(out, *cur)
			}
			cur, gap = nil, true
		case cur != nil:
			body = append(body, strings.TrimPrefix(l, indent))
		case strings.TrimSpace(l) != "":
			gap = false
		}
	}
	return out
}

// TestDocsFunctionResults evaluates every example of the function table in
// docs/language.md as an output and compares it with the documented result.
func TestDocsFunctionResults(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(docsDir, "language.md"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ fn, example, result string }
	var rows []row
	_, functions, _ := strings.Cut(string(b), "\n## Functions\n")
	functions, _, _ = strings.Cut(functions, "\n## ")
	for _, l := range strings.Split(functions, "\n") {
		cells := strings.Split(l, " | ")
		if len(cells) != 4 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		unq := func(s string) string { return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "`"), "`") }
		rows = append(rows, row{unq(strings.TrimPrefix(cells[0], "| ")), unq(cells[2]), unq(strings.TrimSuffix(cells[3], " |"))})
	}
	if len(rows) < 60 {
		t.Fatalf("found %d function rows in docs/language.md; the table's format changed", len(rows))
	}
	dir := t.TempDir()
	var spec strings.Builder
	for i, r := range rows {
		fmt.Fprintf(&spec, "output \"f%02d\" {\n  value = %s\n}\n", i, r.example)
	}
	files := map[string]string{"fn.xp.hcl": spec.String()}
	for name, body := range docsFixtures {
		files[name] = body
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := userRun{dir: dir}.run(t, "output", "-json").must(t, 0, "output", "-json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	for i, rw := range rows {
		want, err := hclLiteralJSON(rw.result)
		if err != nil {
			t.Errorf("%s: documented result %s does not parse: %v", rw.fn, rw.result, err)
			continue
		}
		if diff := cmp.Diff(want, got[fmt.Sprintf("f%02d", i)]); diff != "" {
			t.Errorf("%s: %s documents %s (-documented +actual):\n%s", rw.fn, rw.example, rw.result, diff)
		}
	}
}

// hclLiteralJSON evaluates an HCL literal and returns it as decoded JSON.
func hclLiteralJSON(src string) (any, error) {
	expr, diags := hclsyntax.ParseExpression([]byte(src), "doc", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return nil, diags
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

// docsFixtures are the files docs/language.md's examples read with file()
// and templatefile(), as its function table describes them.
var docsFixtures = map[string]string{
	"brand.txt": "Quiet tech for loud cities.",
	"hook.tmpl": "Meet ${product}: %{ if length(product) > 4 }big%{ else }small%{ endif } sound.",
}

// TestDocsHCLExamplesAreValidAndCanonical: every ```hcl block of docs/ is
// already in the format 'xpflow fmt' writes, and is a spec that 'xpflow
// validate' accepts on its own, run from inside its directory. A block
// that starts with "# xpflow.vars.hcl" is a variables file: it is written
// beside the spec block before it, and must change what that spec
// validates to.
func TestDocsHCLExamplesAreValidAndCanonical(t *testing.T) {
	t.Parallel()
	paths, _ := filepath.Glob(filepath.Join(docsDir, "*.md"))
	n := 0
	for _, p := range paths {
		var prev fence
		for _, f := range fences(t, p) {
			if f.lang != "hcl" {
				continue
			}
			n++
			where := fmt.Sprintf("%s:%d", f.file, f.line)
			dir := t.TempDir()
			write := func(name, body string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for name, body := range docsFixtures {
				write(name, body)
			}
			name, spec := "main.xp.hcl", f.body
			if strings.HasPrefix(f.body, "# xpflow.vars.hcl") {
				if prev.body == "" {
					t.Errorf("%s: a variables file with no spec example before it", where)
					continue
				}
				name, spec = "xpflow.vars.hcl", prev.body
				write("main.xp.hcl", spec)
			}
			write(name, f.body)
			u := userRun{dir: dir}
			if r := u.run(t, "fmt", "-check", name); r.code != 0 {
				t.Errorf("%s: the example is not canonical (fmt -check exit %d)\n%s%s", where, r.code, r.stdout, r.stderr)
			}
			r := u.run(t, "validate")
			if r.code != 0 {
				t.Errorf("%s: the example does not validate on its own (exit %d)\n%s%s", where, r.code, r.stdout, r.stderr)
				continue
			}
			if name == "xpflow.vars.hcl" {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
				if without := u.run(t, "validate"); without.stdout == r.stdout {
					t.Errorf("%s: the variables file changes nothing: validate says %q with and without it", where, strings.TrimSpace(r.stdout))
				}
				continue
			}
			prev = f
		}
	}
	if n < 10 {
		t.Fatalf("found only %d hcl examples in docs/", n)
	}
}

// notRunnable are docs/cli.md shell examples the test does not run, each
// with why; a listed example that no longer exists fails the test.
var notRunnable = map[string]string{
	"xpflow sim -task-failure-rate 0.2 -seed 7\n": "a server that runs until interrupted",
	"xpflow state push examples/team          # xpflow.state.json -> the campaign\nxpflow state pull -state /tmp/team.json examples/team\n": "needs a Postgres server: internal/cli's TestStatePushPullRoundTrip runs push and pull against one",
}

// TestDocsShellExamples runs every shell example of docs/cli.md, in order,
// in one workspace holding a copy of examples/, as a reader following the
// page would, and compares stdout where the page shows it.
func TestDocsShellExamples(t *testing.T) {
	t.Parallel()
	ws := copyExamples(t)
	if err := os.WriteFile(filepath.Join(ws, "prod.vars.hcl"), []byte("products = {\n  aurora = \"Aurora headphones\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Dir(binary)
	seen := map[string]bool{}
	ran := 0
	for _, f := range fences(t, filepath.Join(docsDir, "cli.md")) {
		if f.lang != "sh" {
			continue
		}
		if why, ok := notRunnable[f.body]; ok {
			seen[f.body] = true
			t.Logf("cli.md:%d not run: %s", f.line, why)
			continue
		}
		if strings.Contains(f.body, "| dot ") {
			if _, err := exec.LookPath("dot"); err != nil {
				t.Logf("cli.md:%d not run: Graphviz dot is not installed", f.line)
				continue
			}
		}
		cmd := exec.Command("sh", "-e", "-c", f.body)
		cmd.Dir = ws
		cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + ws}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("cli.md:%d: %s failed: %v\nstdout:\n%s\nstderr:\n%s", f.line, strings.TrimSpace(f.body), err, &stdout, &stderr)
			continue
		}
		ran++
		if f.output != "" && stdout.String() != f.output {
			t.Errorf("cli.md:%d: %s prints (-documented +actual):\n%s", f.line, strings.TrimSpace(f.body), cmp.Diff(f.output, stdout.String()))
		}
	}
	for body := range notRunnable {
		if !seen[body] {
			t.Errorf("notRunnable lists %q, which docs/cli.md no longer shows", body)
		}
	}
	if ran < 10 {
		t.Errorf("ran only %d examples of docs/cli.md", ran)
	}
}

// TestReadmeFirstScreen runs the README's fresh-clone commands (the "go
// run ./cmd/xpflow" lines of its first screen) with the built binary, from
// the root of a copy of examples/, as a user who just cloned types them,
// and checks the page the README promises exists.
func TestReadmeFirstScreen(t *testing.T) {
	t.Parallel()
	ws := copyExamples(t)
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The first screen is the section "Try it on a fresh machine".
	readme := string(b)
	i := strings.Index(readme, "\n## Try it on a fresh machine\n")
	if i < 0 {
		t.Fatal("README.md has no section \"Try it on a fresh machine\"")
	}
	first := readme[i+1:]
	if j := strings.Index(first, "\n## "); j >= 0 {
		first = first[:j]
	}
	var ran []string
	for _, l := range strings.Split(first, "\n") {
		cmd, ok := strings.CutPrefix(l, "go run ./cmd/xpflow ")
		if !ok {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, "#")
		args := strings.Fields(cmd)
		userRun{dir: ws}.run(t, args...).must(t, 0, args...)
		ran = append(ran, cmd)
	}
	if len(ran) != 2 || !strings.HasPrefix(ran[0], "apply -simulate -auto-approve examples/launch") || !strings.HasPrefix(ran[1], "report -simulate examples/launch") {
		t.Errorf("README's first screen runs %q, want apply -simulate -auto-approve examples/launch, then report -simulate examples/launch", ran)
	}
	if _, err := os.Stat(filepath.Join(ws, "examples", "launch", "out", "simulate", "report.html")); err != nil {
		t.Errorf("the page the README names: %v", err)
	}
}
