package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateJSON: an invalid spec gives valid=false, exit 1, and each
// diagnostic with its file and line; a valid one counts its instances.
func TestValidateJSON(t *testing.T) {
	r := runArgs(t, "validate", "-json", filepath.Join("testdata", "invalid", "unknown_var.xp.hcl"))
	if r.code != ExitError {
		t.Errorf("validate -json of an invalid spec: exit %d, want 1", r.code)
	}
	var got jsonValidation
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if got.Valid || got.ErrorCount == 0 || len(got.Diagnostics) == 0 {
		t.Fatalf("got %+v, want invalid with diagnostics", got)
	}
	d := got.Diagnostics[0]
	line := markerLine(t, filepath.Join("testdata", "invalid", "unknown_var.xp.hcl"))
	if d.Severity != "error" || d.Range == nil || !strings.HasSuffix(d.Range.Filename, "unknown_var.xp.hcl") || d.Range.Start.Line != line {
		t.Errorf("diagnostic %+v (range %+v), want an error at unknown_var.xp.hcl:%d", d, d.Range, line)
	}
	if r.stderr != "" {
		t.Errorf("validate -json wrote to stderr: %q", r.stderr)
	}
	r = runArgs(t, "validate", "-json", launchDir)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || !got.Valid || got.Instances != 9 {
		t.Errorf("validate -json of launch: exit %d, %+v (%v)", r.code, got, err)
	}
}

// markerLine is the line of the fixture's '# ERROR:' marker.
func markerLine(t *testing.T, path string) int {
	t.Helper()
	return readMarker(t, path).line
}
