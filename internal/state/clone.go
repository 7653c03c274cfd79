package state

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
)

// Clone returns a deep copy of s; changing one never changes the other.
// Values in Asset.Request are copied deeply when they are maps, slices,
// arrays or pointers; other values (numbers, strings, bools, structs) are
// copied by value.
func (s *State) Clone() *State {
	if s == nil {
		return nil
	}
	c := &State{
		Version: s.Version,
		Serial:  s.Serial,
		Lineage: s.Lineage,
	}
	if s.Assets != nil {
		c.Assets = make(map[string]*Asset, len(s.Assets))
		for k, a := range s.Assets {
			c.Assets[k] = a.Clone()
		}
	}
	if s.Models != nil {
		c.Models = make(map[string]*ModelStats, len(s.Models))
		for k, m := range s.Models {
			c.Models[k] = m.clone()
		}
	}
	if s.Balance != nil {
		b := *s.Balance
		c.Balance = &b
	}
	return c
}

// Clone returns a deep copy of a, which the caller may change freely.
func (a *Asset) Clone() *Asset {
	if a == nil {
		return nil
	}
	c := *a
	c.Request = copyRequest(a.Request)
	c.DependsOn = slices.Clone(a.DependsOn)
	c.Outputs = slices.Clone(a.Outputs)
	c.Redacted = slices.Clone(a.Redacted)
	if a.Usage != nil {
		u := *a.Usage
		c.Usage = &u
	}
	if a.CostCents != nil {
		n := *a.CostCents
		c.CostCents = &n
	}
	if a.Takes != nil {
		c.Takes = make([]Take, len(a.Takes))
		for i, t := range a.Takes {
			c.Takes[i] = t.clone()
		}
	}
	return &c
}

func (t Take) clone() Take {
	c := t
	c.Request = copyRequest(t.Request)
	c.Outputs = slices.Clone(t.Outputs)
	if t.CostCents != nil {
		n := *t.CostCents
		c.CostCents = &n
	}
	return c
}

func copyRequest(r map[string]any) map[string]any {
	if r == nil {
		return nil
	}
	c := make(map[string]any, len(r))
	for k, v := range r {
		c[k] = copyAny(v)
	}
	return c
}

func (m *ModelStats) clone() *ModelStats {
	if m == nil {
		return nil
	}
	c := &ModelStats{}
	if m.Latency != nil {
		c.Latency = make(map[string]*Samples, len(m.Latency))
		for k, s := range m.Latency {
			if s != nil {
				s = &Samples{Seconds: slices.Clone(s.Seconds), Intervals: slices.Clone(s.Intervals)}
			}
			c.Latency[k] = s
		}
	}
	if m.Prices != nil {
		c.Prices = maps.Clone(m.Prices)
		for k, p := range c.Prices {
			if p != nil {
				q := *p
				c.Prices[k] = &q
			}
		}
	}
	return c
}

// copyAny deep-copies the JSON-like values found in a request: the types
// encoding/json decodes into are handled directly, anything else by
// reflection.
func copyAny(v any) any {
	switch t := v.(type) {
	case nil, bool, string, float64, int, int64, json.Number:
		return t
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = copyAny(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = copyAny(e)
		}
		return c
	}
	return copyValue(reflect.ValueOf(v)).Interface()
}

// copyValue deep-copies maps, slices, arrays, pointers and interfaces.
func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), copyValue(it.Value()))
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(copyValue(v.Index(i)))
		}
		return c
	case reflect.Array:
		c := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			c.Index(i).Set(copyValue(v.Index(i)))
		}
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(copyValue(v.Elem()))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(copyValue(v.Elem()))
		return c
	}
	return v
}
