package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/xpflow/xpflow/internal/report"
	"github.com/xpflow/xpflow/internal/state"
)

// runReport writes a self-contained HTML review page of the campaign from
// its state. It needs no spec: state file paths are relative to DIR.
func runReport(env *Env, args []string) error {
	flags := newFlags(env, "report", "[DIR]")
	var sf stateFlag
	sf.register(flags)
	out := flags.String("o", "", "write the page to FILE (default DIR/out/report.html)")
	if err := parse(flags, args); err != nil {
		return err
	}
	dir, err := oneArg(flags)
	if err != nil {
		return err
	}
	statePath := sf.resolve(dir)
	if _, err := os.Stat(statePath); errors.Is(err, fs.ErrNotExist) {
		hint := "run xpflow apply first"
		if !sf.simulate && sf.path == "" {
			hint += ", or add -simulate for the state of simulated runs"
		}
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("no state at %s: %s", statePath, hint)}
	}
	st, err := state.Load(statePath)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	path := *out
	if path == "" {
		path = filepath.Join(dir, "out", "report.html")
	}
	var buf bytes.Buffer
	opts := report.Options{BaseDir: filepath.Dir(path), SpecDir: dir, Title: reportTitle(dir)}
	if err := report.Write(&buf, st, opts); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if err := writeReportFile(path, buf.Bytes()); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	fmt.Fprintf(env.Stdout, "Wrote a report of %d assets to %s\nOpen file://%s in a browser.\n",
		len(st.Assets), path, filepath.ToSlash(abs))
	return nil
}

// reportTitle names the page after the spec directory.
func reportTitle(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil || filepath.Base(abs) == string(filepath.Separator) {
		return ""
	}
	return filepath.Base(abs)
}

// writeReportFile creates path's directory and writes the page there
// atomically, so a reader never sees half a page.
func writeReportFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the report directory: %w", err)
	}
	if err := state.WriteFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}
