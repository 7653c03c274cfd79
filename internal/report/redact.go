package report

import (
	"reflect"
	"sort"
	"strings"
)

// Redacted replaces a secret wherever the page would show it.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest secret redacted: shorter ones would blank
// out ordinary words.
const minSecretLen = 4

// newRedactor returns a function that replaces every secret in a string
// with Redacted, or nil when there is nothing to redact.
func newRedactor(secrets []string) func(string) string {
	var keep []string
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(keep, func(i, j int) bool { return len(keep[i]) > len(keep[j]) })
	pairs := make([]string, 0, 2*len(keep))
	for _, s := range keep {
		pairs = append(pairs, s, Redacted)
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// redactAll applies redact to every string reachable from v, a pointer:
// struct fields, slices, maps and pointers. Redacting the data before it
// is encoded means no escaping (HTML, JSON, URL) can hide a secret from
// the replacer.
func redactAll(v any, redact func(string) string) {
	redactValue(reflect.ValueOf(v), redact)
}

func redactValue(v reflect.Value, redact func(string) string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), redact)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), redact)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			redactValue(v.Index(i), redact)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k, e := iter.Key(), iter.Value()
			if e.Kind() == reflect.String {
				v.SetMapIndex(k, reflect.ValueOf(redact(e.String())).Convert(e.Type()))
			}
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(redact(v.String()))
		}
	}
}
