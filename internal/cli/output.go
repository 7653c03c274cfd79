package cli

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
)

// runOutput evaluates the spec's outputs with the results in the state.
func runOutput(env *Env, args []string) error {
	fs := newFlags(env, "output", "[NAME]")
	var sf stateFlag
	sf.register(fs)
	var f specFlags
	f.register(fs)
	dir := fs.String("dir", ".", "spec directory")
	asJSON := fs.Bool("json", false, "print outputs as JSON (values not known yet are null)")
	if err := parse(fs, args); err != nil {
		return err
	}
	sp, err := loadSpec(env, *dir, &f)
	if err != nil {
		return err
	}
	st, err := state.Load(sf.resolve(sp.Dir))
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
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
	if fs.NArg() > 1 {
		return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("output takes at most one NAME, got %d (flags go before NAME)", fs.NArg())}
	}
	if fs.NArg() == 1 {
		v, ok := outs[fs.Arg(0)]
		if !ok {
			return &ExitErr{Code: ExitError, Err: fmt.Errorf("no output %q; the spec has %v", fs.Arg(0), names)}
		}
		outs, names = map[string]cty.Value{fs.Arg(0): v}, []string{fs.Arg(0)}
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
