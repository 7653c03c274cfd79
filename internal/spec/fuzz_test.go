package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary text to Load, Expand, BlockDeps, Eval and Outputs:
// none may panic, whatever the diagnostics.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/valid/*.xp.hcl")
	more, _ := filepath.Glob("../../testdata/invalid/spec/*.xp.hcl")
	for _, p := range append(seeds, more...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(string(src))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.xp.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		s, _ := Load(dir, LoadOptions{})
		insts, _ := s.Expand()
		_, _ = s.BlockDeps()
		sc := s.NewScope(insts)
		url, content := "https://cdn/x", "c"
		for _, inst := range insts {
			params, _, _ := sc.Eval(inst)
			sc.SetInputs(inst.Addr, params)
			sc.SetResult(inst.Addr, Result{Content: &content, URLs: []string{url}})
		}
		_, _ = sc.Outputs()
	})
}
