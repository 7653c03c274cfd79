package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// FileSuffix is the suffix of spec files.
const FileSuffix = ".xp.hcl"

// VarsFileName is the variables file auto-loaded from the spec directory.
const VarsFileName = "xpflow.vars.hcl"

// Load reads every *.xp.hcl file of dir (or the single file when path is a file), decodes and
// validates it. An empty directory (no *.xp.hcl) is an error diagnostic naming the directory. An
// unreadable file is an error naming it. Returns the spec (possibly partial) and diagnostics.
func Load(path string, opts LoadOptions) (*Spec, hcl.Diagnostics) {
	s := &Spec{
		Files:       map[string]*hcl.File{},
		Variables:   map[string]*Variable{},
		Locals:      map[string]cty.Value{},
		assetByAddr: map[string]*Asset{},
		localExprs:  map[string]*hcl.Attribute{},
		badExprs:    map[hcl.Expression]bool{},
	}
	dir, names, diags := listFiles(path)
	s.Dir = dir
	s.Settings.OutputDir = filepath.Join(dir, "out")
	s.reader = &fileReader{dir: dir, allowOutside: opts.AllowOutsideFiles, secrets: opts.Secrets}
	s.functions = newFuncTable(s.reader)
	s.allowOutside = opts.AllowOutsideFiles
	if diags.HasErrors() {
		return s, diags
	}
	var bodies []hcl.Body
	for _, name := range names {
		f, fdiags := parseFile(name)
		diags = append(diags, fdiags...)
		if f == nil {
			continue
		}
		s.Files[name] = f
		bodies = append(bodies, f.Body)
	}
	var tops []*topBlocks
	for _, b := range bodies {
		t, tdiags := s.decodeBody(b)
		diags = append(diags, tdiags...)
		tops = append(tops, t)
	}
	diags = append(diags, s.resolveVariables(dir, opts)...)
	diags = append(diags, s.evalLocals()...)
	for _, t := range tops {
		diags = append(diags, s.evalSettings(t)...)
	}
	diags = append(diags, s.Validate()...)
	return s, diags
}

// listFiles returns the spec directory (absolute) and the spec file names to read.
func listFiles(path string) (string, []string, hcl.Diagnostics) {
	info, err := os.Stat(path)
	if err != nil {
		return absDir(path), nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read spec",
			Detail:   fmt.Sprintf("Cannot read %s: %s.", path, err),
		}}
	}
	if !info.IsDir() {
		return absDir(filepath.Dir(path)), []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return absDir(path), nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read spec directory",
			Detail:   fmt.Sprintf("Cannot list %s: %s.", path, err),
		}}
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), FileSuffix) {
			names = append(names, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return absDir(path), nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No spec files",
			Detail:   fmt.Sprintf("The directory %s contains no *%s files.", path, FileSuffix),
		}}
	}
	return absDir(path), names, nil
}

func absDir(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// parseFile reads and parses one spec file, refusing one too large or
// nested too deep for the parser.
func parseFile(name string) (*hcl.File, hcl.Diagnostics) {
	src, diags := ReadSource(name)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclsyntax.ParseConfig(src, name, hcl.InitialPos)
}

// ReadSource reads a spec or variables file for the HCL parser: only a
// regular file, at most MaxSourceBytes, nested at most MaxNesting deep.
// Every command that parses a file the user wrote (load, fmt) reads it
// through here, so none can be made to hang or overflow its stack.
func ReadSource(name string) ([]byte, hcl.Diagnostics) {
	src, err := readLimited(name)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read spec file",
			Detail:   fmt.Sprintf("Cannot read %s: %s.", name, err),
			Subject:  &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	if diags := checkSource(src, name, false); diags.HasErrors() {
		return nil, diags
	}
	return src, nil
}

// readLimited reads a file of at most MaxSourceBytes (one byte more is
// read, so checkSource can report the excess without reading it all).
// Only a regular file (or a link to one) is opened: a FIFO named
// x.xp.hcl would block the open forever, a device would never end.
func readLimited(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		return nil, fmt.Errorf("read %s: is a directory", name)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file (%v)", name, fi.Mode().Type())
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxSourceBytes+1))
}
