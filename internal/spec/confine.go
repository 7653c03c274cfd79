package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Redacted replaces a secret found in text that xpflow would otherwise
// send, store or print.
const Redacted = "[REDACTED]"

// errOutside marks a path that leaves the spec directory.
var errOutside = errors.New("outside the spec directory")

// insideDir returns the real path of p (relative to dir, or absolute)
// when it lies in dir or below, symlinks resolved on both sides, so no
// absolute path, ".." or link can reach a file elsewhere (such as
// /proc/self/environ, which holds the API key). With allowOutside the
// path is only made absolute.
func insideDir(dir, p string, allowOutside bool) (string, error) {
	if !allowOutside && filepath.IsAbs(p) {
		return "", fmt.Errorf("%s is an absolute path: spec files may only read files in the spec directory and below (-allow-outside-files lifts this)", p)
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, p)
	}
	if allowOutside {
		return full, nil
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("resolving the spec directory %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", full, err)
		}
		if !within(filepath.Clean(dir), filepath.Clean(full)) {
			return "", fmt.Errorf("%s leads %w %s (-allow-outside-files lifts this)", p, errOutside, dir)
		}
		return full, nil // missing: the read says so
	}
	if !within(realDir, real) {
		what := "leads"
		if real != filepath.Clean(full) {
			what = "is a link that leads"
		}
		return "", fmt.Errorf("%s %s to %s, %w %s (-allow-outside-files lifts this)", p, what, real, errOutside, dir)
	}
	return real, nil
}

// within reports whether p is dir or below it; both are clean and absolute.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// redact replaces every secret in s with Redacted and reports whether it
// did. Empty secrets are ignored.
func redact(s string, secrets []string) (string, bool) {
	did := false
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
			did = true
		}
	}
	return s, did
}

// redactValue replaces every secret in the known, unmarked strings of v
// with Redacted: a variable set to the API key (-var, a variables file,
// XPFLOW_VAR_*) must not carry it into a prompt, the state or an output.
func redactValue(v cty.Value, secrets []string) cty.Value {
	if len(secrets) == 0 || v == cty.NilVal {
		return v
	}
	out, err := cty.Transform(v, func(_ cty.Path, e cty.Value) (cty.Value, error) {
		if e.Type() != cty.String || !e.IsKnown() || e.IsNull() || e.IsMarked() {
			return e, nil
		}
		if s, did := redact(e.AsString(), secrets); did {
			return cty.StringVal(s), nil
		}
		return e, nil
	})
	if err != nil {
		return v
	}
	return out
}
