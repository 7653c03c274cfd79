package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/xpflow/xpflow/internal/state"
)

// stateFlag picks the state file of a read command.
type stateFlag struct {
	path     string
	simulate bool
}

func (f *stateFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "state", "", "state file (default DIR/xpflow.state.json)")
	fs.BoolVar(&f.simulate, "simulate", false, "read the state of -simulate runs (DIR/xpflow.simulate.state.json)")
}

func (f *stateFlag) resolve(dir string) string {
	switch {
	case f.path != "":
		return f.path
	case f.simulate:
		return filepath.Join(dir, "xpflow.simulate.state.json")
	}
	return filepath.Join(dir, "xpflow.state.json")
}

func sortedAssets(st *state.State) []*state.Asset {
	out := make([]*state.Asset, 0, len(st.Assets))
	for _, a := range st.Assets {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// runShow prints the recorded assets.
func runShow(env *Env, args []string) error {
	fs := newFlags(env, "show", "[DIR]")
	var sf stateFlag
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print the state as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	st, err := readStateDir(env, dir, sf)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if len(st.Assets) == 0 {
		fmt.Fprintln(env.Stdout, "The state is empty.")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tSTATUS\tMODEL\tCOST\tRESULT")
	for _, a := range sortedAssets(st) {
		cost := "-"
		if a.CostCents != nil {
			cost = formatCents(*a.CostCents)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Address, a.Status, a.Model, cost, assetResult(a))
	}
	if st.Balance != nil {
		fmt.Fprintf(tw, "\nLast known balance: %s (%s)\n", formatCents(st.Balance.Cents), st.Balance.At.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func assetResult(a *state.Asset) string {
	switch {
	case a.Error != "":
		return a.Error
	case a.Content != "":
		s := a.Content
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return fmt.Sprintf("%q", s)
	case len(a.Outputs) > 0 && a.Outputs[0].File != "":
		return a.Outputs[0].File
	case a.TaskID != "":
		return "task " + a.TaskID
	}
	return ""
}

// runState runs 'state list [DIR]', 'state rm ADDR...', 'state push' and
// 'state pull'.
func runState(env *Env, args []string) error {
	const usage = "Usage: xpflow [-chdir=DIR] state list [flags] [DIR]\n       xpflow [-chdir=DIR] state rm [flags] ADDR...\n       xpflow [-chdir=DIR] state push [flags] [DIR]\n       xpflow [-chdir=DIR] state pull [flags] [DIR]\n\nRun 'xpflow state SUBCOMMAND -h' for the flags."
	if len(args) == 0 {
		return &ExitErr{Code: ExitUsage, Err: errors.New(usage)}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(env.Stderr, usage)
		return nil
	case "push", "pull":
		return runStateMove(env, args[0], args[1:])
	case "list":
		return stateList(env, args[1:])
	case "rm":
		fs := newFlags(env, "state rm", "ADDR...")
		var sf stateFlag
		sf.register(fs)
		dir := fs.String("dir", ".", "the spec directory whose state to edit (default: the current directory)")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if sp := quietSpec(env, *dir); usePostgres(sp, sf.path, sf.simulate) {
			return stateRmPostgres(env, sp, fs.Args())
		}
		return stateRm(env, sf.resolve(*dir), fs.Args())
	}
	hint := ""
	if s := closest(args[0], []string{"list", "rm", "push", "pull"}); s != "" {
		hint = fmt.Sprintf(" Did you mean %q?", s)
	}
	return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("unknown state subcommand %q: want list, rm, push or pull.%s", args[0], hint)}
}

func stateList(env *Env, args []string) error {
	fs := newFlags(env, "state list", "[DIR]")
	var sf stateFlag
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print a JSON array of {address, status, kind, model}")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	st, err := readStateDir(env, dir, sf)
	if err != nil {
		return err
	}
	if *asJSON {
		type entry struct {
			Address string `json:"address"`
			Status  string `json:"status"`
			Kind    string `json:"kind"`
			Model   string `json:"model"`
		}
		list := []entry{}
		for _, a := range sortedAssets(st) {
			list = append(list, entry{a.Address, string(a.Status), a.Kind, a.Model})
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	for _, a := range sortedAssets(st) {
		fmt.Fprintln(env.Stdout, a.Address)
	}
	return nil
}

func stateRm(env *Env, path string, addrs []string) error {
	if len(addrs) == 0 {
		return &ExitErr{Code: ExitUsage, Err: errors.New("state rm needs at least one address")}
	}
	store, err := state.Open(path)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	defer store.Close()
	return removeAssets(env, store, addrs)
}

// removeAssets drops addrs from the state behind store, all or none: an
// address the state does not hold fails the whole edit.
func removeAssets(env *Env, store *state.Store, addrs []string) error {
	err := store.Update(func(st *state.State) error {
		for _, a := range addrs {
			if _, ok := st.Assets[a]; !ok {
				return fmt.Errorf("no asset %s in %s", a, store.Path())
			}
			delete(st.Assets, a)
		}
		return nil
	})
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	for _, a := range addrs {
		fmt.Fprintf(env.Stdout, "Removed %s from the state (its files stay on disk).\n", a)
	}
	return nil
}
