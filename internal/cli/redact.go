package cli

import (
	"io"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/xpflow/xpflow/internal/spec"
)

// minSecretLen is the shortest sensitive string that is redacted: shorter
// ones would blank out ordinary words.
const minSecretLen = 4

// redactingWriter replaces the values of sensitive variables with
// "(sensitive)" in everything written through it. Plan output shows prompts,
// and a prompt may be built from a sensitive variable.
type redactingWriter struct {
	w        io.Writer
	replacer *strings.Replacer
}

// redactSensitive wraps w when the spec has sensitive variables.
func redactSensitive(w io.Writer, sp *spec.Spec) io.Writer {
	var secrets []string
	for _, v := range sp.Variables {
		if v.Sensitive && v.Value != cty.NilVal {
			secrets = append(secrets, stringsIn(v.Value)...)
		}
	}
	if len(secrets) == 0 {
		return w
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	var pairs []string
	for _, s := range secrets {
		pairs = append(pairs, s, "(sensitive)")
	}
	return &redactingWriter{w: w, replacer: strings.NewReplacer(pairs...)}
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.replacer.Replace(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stringsIn lists the known strings of at least minSecretLen in v.
func stringsIn(v cty.Value) []string {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s := v.AsString(); len(s) >= minSecretLen {
			return []string{s}
		}
	case ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}
