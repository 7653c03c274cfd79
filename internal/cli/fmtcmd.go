package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/xpflow/xpflow/internal/spec"
)

// runFmt rewrites spec files in canonical form, like hclfmt.
func runFmt(env *Env, args []string) error {
	fs := newFlags(env, "fmt", "[DIR|FILE]")
	check := fs.Bool("check", false, "only report files that are not formatted; exit 3 if any")
	if err := parse(fs, args); err != nil {
		return err
	}
	target, err := oneArg(fs)
	if err != nil {
		return err
	}
	files, err := fmtTargets(target)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	var unformatted []string
	for _, path := range files {
		changed, err := fmtFile(env, path, *check)
		if err != nil {
			return err
		}
		if changed {
			unformatted = append(unformatted, path)
			fmt.Fprintln(env.Stdout, path)
		}
	}
	if *check && len(unformatted) > 0 {
		return silent(3)
	}
	return nil
}

// fmtTargets lists the spec and variable files at target.
func fmtTargets(target string) ([]string, error) {
	fi, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{target}, nil
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".xp.hcl") || n == "xpflow.vars.hcl") {
			out = append(out, filepath.Join(target, n))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, errors.New("no *.xp.hcl files in " + target)
	}
	return out, nil
}

func fmtFile(env *Env, path string, check bool) (bool, error) {
	// Read as load does: a FIFO, a huge file or deep nesting is refused
	// with a diagnostic before the parser could hang or overflow its stack.
	src, diags := spec.ReadSource(path)
	if !diags.HasErrors() {
		// Refuse to format what does not parse: hclwrite would keep the error.
		_, diags = hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	}
	if diags.HasErrors() {
		wr := hcl.NewDiagnosticTextWriter(env.Stderr, nil, 0, useColor(env))
		_ = wr.WriteDiagnostics(diags)
		return false, silent(ExitError)
	}
	out := hclwrite.Format(src)
	if bytes.Equal(out, src) {
		return false, nil
	}
	if !check {
		fi, err := os.Stat(path)
		if err != nil {
			return false, err
		}
		if err := os.WriteFile(path, out, fi.Mode().Perm()); err != nil {
			return false, &ExitErr{Code: ExitError, Err: err}
		}
	}
	return true, nil
}
