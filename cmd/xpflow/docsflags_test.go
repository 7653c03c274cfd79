package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	helpFlagRE = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	docFlagRE  = regexp.MustCompile("-[a-z][a-z0-9-]*")
	usageCmdRE = regexp.MustCompile(`(?m)^  ([a-z]+)  `)
)

// binaryCommands is every command the binary lists in its own usage,
// which it prints from its command table, with state's subcommands.
func binaryCommands(t *testing.T) []string {
	t.Helper()
	r := userRun{dir: t.TempDir()}.run(t, "-h").must(t, 0, "-h")
	usage := r.stdout + r.stderr
	start := strings.Index(usage, "Commands:")
	end := strings.Index(usage, "Global flags")
	if start < 0 || end < start {
		t.Fatalf("xpflow -h lists no commands:\n%s", usage)
	}
	var cmds []string
	for _, m := range usageCmdRE.FindAllStringSubmatch(usage[start:end], -1) {
		if m[1] == "state" {
			cmds = append(cmds, "state list", "state rm", "state push", "state pull")
			continue
		}
		cmds = append(cmds, m[1])
	}
	if len(cmds) < 10 {
		t.Fatalf("xpflow -h lists %d commands: %q", len(cmds), cmds)
	}
	return cmds
}

// docFlags is the flags docs/cli.md documents for cmd ("plan", "state
// push"): those in its synopsis lines and in the first cell of the tables
// of its section. The state subcommands share their section's tables, so
// only the synopsis says which flags each takes.
func docFlags(t *testing.T, doc, cmd string) (synopsis, tables []string) {
	t.Helper()
	top := strings.Fields(cmd)[0]
	i := strings.Index(doc, "\n### `"+top+"`\n")
	if i < 0 {
		t.Errorf("docs/cli.md has no section ### `%s`", top)
		return nil, nil
	}
	sec := doc[i+1:]
	if j := strings.Index(sec[4:], "\n### "); j >= 0 {
		sec = sec[:j+4]
	}
	add := func(to *[]string, s string) {
		for _, f := range docFlagRE.FindAllString(s, -1) {
			if !slices.Contains(*to, f[1:]) {
				*to = append(*to, f[1:])
			}
		}
	}
	fences := 0
	for _, l := range strings.Split(sec, "\n") {
		switch {
		case strings.HasPrefix(l, "```"):
			fences++
		case fences == 1 && (strings.HasPrefix(l, "xpflow "+cmd+" ") || l == "xpflow "+cmd):
			// The synopsis: the section's first code block.
			add(&synopsis, strings.TrimPrefix(l, "xpflow "+cmd))
		case strings.HasPrefix(l, "| `-"):
			add(&tables, strings.Split(l, "|")[1])
		}
	}
	return synopsis, tables
}

// TestCLIDocsListEveryFlag: each command's -h flags are the flags
// docs/cli.md documents for it, neither more nor fewer; the global flags
// of xpflow -h are in the doc's global table.
func TestCLIDocsListEveryFlag(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(docsDir, "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	dir := t.TempDir()
	for _, cmd := range binaryCommands(t) {
		args := append(strings.Fields(cmd), "-h")
		r := userRun{dir: dir}.run(t, args...).must(t, 0, args...)
		var have []string
		for _, m := range helpFlagRE.FindAllStringSubmatch(r.stdout+r.stderr, -1) {
			have = append(have, m[1])
		}
		synopsis, tables := docFlags(t, doc, cmd)
		documented := append(slices.Clone(synopsis), tables...)
		if strings.HasPrefix(cmd, "state ") {
			documented = synopsis
		}
		for _, f := range have {
			if !slices.Contains(synopsis, f) && !slices.Contains(tables, f) {
				t.Errorf("xpflow %s -h lists -%s, which docs/cli.md does not document for %s", cmd, f, cmd)
			}
		}
		for _, f := range documented {
			if !slices.Contains(have, f) {
				t.Errorf("docs/cli.md documents -%s for %s, which xpflow %s -h does not list", f, cmd, cmd)
			}
		}
	}
	r := userRun{dir: dir}.run(t, "-h").must(t, 0, "-h")
	usage := r.stdout + r.stderr
	global := usage[strings.Index(usage, "Global flags"):]
	i := strings.Index(doc, "| global flag |")
	if i < 0 {
		t.Fatal("docs/cli.md has no global flag table")
	}
	table := doc[i:]
	table = table[:strings.Index(table, "\n\n")]
	for _, m := range regexp.MustCompile(`(?m)-[a-z]+`).FindAllString(global, -1) {
		if m == "-h" {
			continue
		}
		if !strings.Contains(table, "`"+m) {
			t.Errorf("xpflow -h lists global flag %s, which docs/cli.md's global table does not", m)
		}
	}
}
