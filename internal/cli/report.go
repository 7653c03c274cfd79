package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xpflow/xpflow/internal/report"
	"github.com/xpflow/xpflow/internal/state"
)

// runReport writes a self-contained HTML review page of the campaign from
// its state. It needs no spec: state file paths are relative to DIR.
func runReport(env *Env, args []string) error {
	fs := newFlags(env, "report", "[DIR]")
	var sf stateFlag
	sf.register(fs)
	out := fs.String("o", "", "write the page to FILE (default DIR/out/report.html)")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	st, err := state.Load(sf.resolve(dir))
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

// writeReportFile writes data to a temporary file beside path, syncs it and
// renames it over path, so a reader never sees half a page.
func writeReportFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".report-*.html")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
