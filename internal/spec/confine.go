package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
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
	out, _ := redactValueDid(v, secrets)
	return out
}

// redactValueDid is redactValue, and reports whether it replaced anything.
func redactValueDid(v cty.Value, secrets []string) (cty.Value, bool) {
	if len(secrets) == 0 || v == cty.NilVal {
		return v, false
	}
	found := false
	out, err := cty.Transform(v, func(_ cty.Path, e cty.Value) (cty.Value, error) {
		if e.Type() != cty.String || !e.IsKnown() || e.IsNull() || e.IsMarked() {
			return e, nil
		}
		if s, did := redact(e.AsString(), secrets); did {
			found = true
			return cty.StringVal(s), nil
		}
		return e, nil
	})
	if err != nil {
		return v, false
	}
	return out, found
}

// DisplayFiles returns the spec's files for a diagnostic writer to quote,
// with every secret typed into them masked by as many '*': a diagnostic
// about a line that holds the key must not print it, and the masks keep
// every byte offset of the source ranges right.
func (s *Spec) DisplayFiles() map[string]*hcl.File {
	var secrets []string
	if s.reader != nil {
		secrets = s.reader.secrets
	}
	out := make(map[string]*hcl.File, len(s.Files))
	for name, f := range s.Files {
		b := f.Bytes
		for _, sec := range secrets {
			if sec != "" && bytes.Contains(b, []byte(sec)) {
				b = bytes.ReplaceAll(b, []byte(sec), bytes.Repeat([]byte("*"), len(sec)))
			}
		}
		if len(b) > 0 && &b[0] != &f.Bytes[0] {
			f = &hcl.File{Body: f.Body, Bytes: b, Nav: f.Nav}
		}
		out[name] = f
	}
	return out
}

// KeyReplaced is the Extra of the warning Eval gives for a parameter
// whose value held a secret: the parameter's name. Apply records it in
// the asset's state record.
type KeyReplaced string

// SecretsReplaced returns the parameter names that diags' warnings say
// held a secret, replaced by Redacted.
func SecretsReplaced(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if k, ok := d.Extra.(KeyReplaced); ok {
			out = append(out, string(k))
		}
	}
	return out
}
