package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
)

// runOutput evaluates the spec's outputs with the results in the state.
// Arguments are [DIR] [NAME]: one argument is the DIR when it names a spec
// (a directory holding *.xp.hcl files, or such a file), else the NAME.
func runOutput(env *Env, args []string) error {
	fs := newFlags(env, "output", "[DIR] [NAME]")
	var sf stateFlag
	sf.register(fs)
	var f specFlags
	f.register(fs)
	asJSON := fs.Bool("json", false, "print outputs as JSON (values not known yet are null); with NAME, just that value")
	raw := fs.Bool("raw", false, "with NAME: print a string, number or bool value bare, with no quotes or newline, for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, name, err := outputArgs(fs)
	if err != nil {
		return err
	}
	if *raw && (name == "" || *asJSON) {
		return &ExitErr{Code: ExitUsage, Err: errors.New("-raw needs one output NAME and no -json: xpflow output -raw NAME")}
	}
	sp, err := loadSpec(env, dir, &f)
	if err != nil {
		return err
	}
	st, err := readState(env, sp, sf.path, sf.simulate)
	if err != nil {
		return err
	}
	p, diags := planner.Build(sp, planner.Options{State: st})
	if err := printDiags(env, sp, diags); err != nil {
		return err
	}
	outs, diags := p.Scope.Outputs()
	if err := printDiags(env, sp, diags); err != nil {
		return err
	}
	names := make([]string, 0, len(outs))
	for n := range outs {
		names = append(names, n)
	}
	sort.Strings(names)
	if name != "" {
		v, ok := outs[name]
		if !ok {
			hint := fmt.Sprintf("the spec has %s", strings.Join(names, ", "))
			if len(names) == 0 {
				hint = "the spec has no output blocks"
			}
			if s := closest(name, names); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			return &ExitErr{Code: ExitError, Err: fmt.Errorf("no output %q: %s", name, hint)}
		}
		switch {
		case *raw:
			return printRaw(env, sp, name, v)
		case *asJSON:
			return writeJSONValue(env.Stdout, cty.UnknownAsNull(v))
		}
		outs, names = map[string]cty.Value{name: v}, []string{name}
	}
	if *asJSON {
		m := map[string]json.RawMessage{}
		for _, n := range names {
			v := cty.UnknownAsNull(outs[n])
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				return err
			}
			m[n] = b
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	w := redactSensitive(env.Stdout, sp)
	for _, n := range names {
		v := outs[n]
		if !v.IsWhollyKnown() {
			fmt.Fprintf(w, "%s = (known after apply)\n", n)
			continue
		}
		fmt.Fprintf(w, "%s = %s\n", n, hclwrite.TokensForValue(v).Bytes())
	}
	return nil
}

// outputArgs splits output's positional arguments into DIR and NAME.
func outputArgs(fs *flag.FlagSet) (dir, name string, err error) {
	flagDir := fs.Lookup("dir").Value.String()
	args := fs.Args()
	switch {
	case flagDir != "" && len(args) > 1:
		return "", "", &ExitErr{Code: ExitUsage, Err: fmt.Errorf("with -dir, output takes at most one NAME, got %s", strings.Join(args, " "))}
	case flagDir != "" && len(args) == 1:
		name = args[0]
	case len(args) > 2:
		return "", "", &ExitErr{Code: ExitUsage, Err: fmt.Errorf("output takes at most DIR and NAME, got %s", strings.Join(args, " "))}
	case len(args) == 2:
		dir, name = args[0], args[1]
	case len(args) == 1 && namesSpec(args[0]):
		dir = args[0]
	case len(args) == 1:
		name = args[0]
	}
	switch {
	case dir != "" && flagDir != "" && filepath.Clean(dir) != filepath.Clean(flagDir):
		return "", "", &ExitErr{Code: ExitUsage, Err: fmt.Errorf("-dir %s and the argument %s name different directories; give one", flagDir, dir)}
	case dir == "" && flagDir != "":
		dir = flagDir
	case dir == "":
		dir = "."
	}
	return dir, name, nil
}

// namesSpec reports whether arg is a spec file or a directory with one.
func namesSpec(arg string) bool {
	fi, err := os.Stat(arg)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		return strings.HasSuffix(arg, spec.FileSuffix)
	}
	m, _ := filepath.Glob(filepath.Join(arg, "*"+spec.FileSuffix))
	return len(m) > 0
}

// printRaw prints a primitive value bare, as terraform output -raw does.
func printRaw(env *Env, sp *spec.Spec, name string, v cty.Value) error {
	switch {
	case !v.IsWhollyKnown():
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("output %q is not known yet: run xpflow apply first", name)}
	case v.IsNull():
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("output %q is null", name)}
	case v.Type() == cty.String:
		_, err := io.WriteString(redactSensitive(env.Stdout, sp), v.AsString())
		return err
	case v.Type() == cty.Number:
		_, err := io.WriteString(env.Stdout, v.AsBigFloat().Text('f', -1))
		return err
	case v.Type() == cty.Bool:
		_, err := fmt.Fprint(env.Stdout, v.True())
		return err
	}
	return &ExitErr{Code: ExitError, Err: fmt.Errorf("output %q is %s, not a string, number or bool: use -json", name, v.Type().FriendlyName())}
}

// writeJSONValue prints one value as indented JSON.
func writeJSONValue(w io.Writer, v cty.Value) error {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}
