package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
)

// planFile is a saved plan. Apply re-derives the plan from the same spec,
// variables, state and prices and refuses to go on if anything differs, so
// it applies exactly what was reviewed or nothing.
type planFile struct {
	FormatVersion string            `json:"format_version"`
	Dir           string            `json:"dir"`
	Vars          []string          `json:"vars,omitempty"`
	VarFiles      []string          `json:"var_files,omitempty"`
	Targets       []string          `json:"targets,omitempty"`
	Replace       []string          `json:"replace,omitempty"`
	Simulate      bool              `json:"simulate,omitempty"`
	AllowOutside  bool              `json:"allow_outside_files,omitempty"`
	StatePath     string            `json:"state_path"`
	SpecDigest    string            `json:"spec_digest"`
	StateLineage  string            `json:"state_lineage"`
	StateSerial   uint64            `json:"state_serial"`
	Prices        map[string]string `json:"prices"`
	Actions       map[string]string `json:"actions"`
	Estimated     int               `json:"estimated_cost_cents"`
}

func savePlanFile(path string, pl *planned, f *planFlags, statePath string) error {
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	varFiles := make([]string, len(f.varFiles))
	for i, v := range f.varFiles {
		varFiles[i] = abs(v)
	}
	pf := planFile{FormatVersion: "1", Dir: abs(pl.spec.Dir), Vars: f.vars, VarFiles: varFiles,
		Targets: f.targets, Replace: f.replace, Simulate: f.simulate, StatePath: abs(statePath),
		AllowOutside: f.allowOutside}
	pf.fill(pl)
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	// The plan may hold variable values: keep it private like the state.
	return state.WriteFileAtomic(path, append(b, '\n'), 0o600)
}

func (pf *planFile) fill(pl *planned) {
	pf.SpecDigest = specDigest(pl)
	pf.StateLineage, pf.StateSerial = pl.plan.StateLineage, pl.plan.StateSerial
	pf.Prices, pf.Actions = map[string]string{}, map[string]string{}
	for _, n := range pl.plan.Nodes {
		if n.Excluded {
			continue
		}
		pf.Actions[n.Addr] = string(n.Action)
		// The request hash covers what the spec digest cannot: files read
		// by file() and templatefile(), and every resolved parameter.
		if req, err := planner.RequestFromParams(n.Kind, n.Params); err == nil {
			pf.Actions[n.Addr] += " " + req.Hash()
		}
		if n.Action.Spends() {
			pf.Prices[n.Addr] = fmt.Sprintf("%s priced=%t cents=%d observed=%t", n.Model, n.Cost.Priced, n.Cost.Cents, n.Cost.Observed)
		}
	}
	for _, a := range pl.plan.Forget {
		pf.Actions[a] = string(planner.ActionForget)
	}
	pf.Estimated = pl.plan.EstimatedCents
}

// specDigest covers every spec file and every variable's final value.
// Files are named relative to the spec directory: plan may be run with a
// relative DIR (or none) and apply with the absolute one the plan file
// keeps, so a name as given would differ although nothing changed.
func specDigest(pl *planned) string {
	h := sha256.New()
	byName := make(map[string]*hcl.File, len(pl.spec.Files))
	for n, f := range pl.spec.Files {
		byName[specRelName(pl.spec.Dir, n)] = f
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "file %s %d\n", n, len(byName[n].Bytes))
		h.Write(byName[n].Bytes)
	}
	vars := make([]string, 0, len(pl.spec.Variables))
	for n := range pl.spec.Variables {
		vars = append(vars, n)
	}
	sort.Strings(vars)
	for _, n := range vars {
		v := pl.spec.Variables[n].Value
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			b = []byte(v.GoString())
		}
		fmt.Fprintf(h, "var %s %s\n", n, b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// specRelName names a spec or variables file relative to the spec
// directory, with forward slashes, whatever form the path was given in.
func specRelName(dir, name string) string {
	abs, err := filepath.Abs(name)
	if err != nil {
		return filepath.ToSlash(name)
	}
	if rel, err := filepath.Rel(dir, abs); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(abs)
}

func readPlanFile(path string) (*planFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	var pf planFile
	if err := json.Unmarshal(b, &pf); err != nil || pf.FormatVersion != "1" {
		return nil, &ExitErr{Code: ExitError, Err: fmt.Errorf("%s is not a saved xpflow plan (made by 'xpflow plan -out FILE')", path)}
	}
	return &pf, nil
}

func (pf *planFile) restoreFlags(f *planFlags) {
	f.vars, f.varFiles, f.targets, f.replace = pf.Vars, pf.VarFiles, pf.Targets, pf.Replace
	f.simulate, f.statePath, f.allowOutside = pf.Simulate, pf.StatePath, pf.AllowOutside
}

// check compares the saved plan with one made now and names what changed.
func (pf *planFile) check(pl *planned) error {
	now := planFile{}
	now.fill(pl)
	stale := func(what string) error {
		return fmt.Errorf("the saved plan is stale: %s since it was made. Run 'xpflow plan -out FILE' again and review it", what)
	}
	switch {
	case now.SpecDigest != pf.SpecDigest:
		return stale("the spec or a variable changed")
	case now.StateSerial != pf.StateSerial || (pf.StateSerial != 0 && now.StateLineage != pf.StateLineage): // serial 0: no file yet, lineage is fresh each load
		return stale(fmt.Sprintf("the state changed (serial %d, now %d)", pf.StateSerial, now.StateSerial))
	case !maps.Equal(now.Prices, pf.Prices):
		return stale("a price it used changed")
	case !maps.Equal(now.Actions, pf.Actions):
		return stale("the actions changed")
	}
	return nil
}
