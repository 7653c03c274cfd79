package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Load reads the state at path without locking it, for read-only
// commands: the JSON snapshot with the records of its journal
// (JournalPath(path)) replayed over it, so that a reader sees every change
// an apply has made durable, even one still running or killed. A missing
// snapshot without journal records yields New() and no error. A file that
// cannot be read or parsed, an unknown version, or a journal that is
// corrupt before its last record or does not follow the snapshot is an
// error naming the path and the cause; a torn last record is dropped.
// Load never changes either file. Like Open, it finds the journal next to
// the real file, RealPath(path), through any symlink.
func Load(path string) (*State, error) {
	if real, err := RealPath(path); err == nil {
		path = real
	}
	st, _, _, err := loadFiles(path, JournalPath(path))
	return st, err
}

// loadFiles reads the snapshot at path and replays the journal at jpath
// over it. It returns the state, how many records it replayed, and the
// length of the journal's valid prefix. The journal is read first: a
// writer compacting meanwhile writes a snapshot that includes every record
// read, so the result is never older than the snapshot.
func loadFiles(path, jpath string) (st *State, pending int, valid int64, err error) {
	jdata, err := os.ReadFile(jpath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, 0, 0, fmt.Errorf("reading journal %s: %w", jpath, err)
	}
	recs, n, err := parseJournal(jdata)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("journal %s: %w", jpath, err)
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && len(recs) > 0:
		return nil, 0, 0, fmt.Errorf("state %s is missing but its journal %s holds %d records: restore the state file, or remove the journal to start afresh", path, jpath, len(recs))
	case errors.Is(err, os.ErrNotExist):
		return New(), 0, int64(n), nil
	case err != nil:
		return nil, 0, 0, fmt.Errorf("reading state %s: %w", path, err)
	}
	st, err = Decode(data)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("state %s: %w", path, err)
	}
	pending, err = replay(st, recs)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("journal %s does not follow state %s: %w", jpath, path, err)
	}
	if err := st.Validate(); err != nil {
		return nil, 0, 0, fmt.Errorf("state %s with its journal: %w", path, err)
	}
	return st, pending, int64(n), nil
}

// Decode parses the bytes of a state file. Numbers inside Asset.Request
// decode as json.Number, so they re-encode exactly as written. It refuses, rather than guesses
// about: an empty or truncated file, trailing data, fields this version does
// not know, a missing or unknown version, a missing lineage, and assets or
// statistics that are null or inconsistent (see State.Validate).
func Decode(data []byte) (*State, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	if !json.Valid(data) {
		return nil, errors.New("not valid JSON (truncated or corrupt)")
	}
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("cannot read the format version: %w", err)
	}
	if head.Version == nil {
		return nil, errors.New("no \"version\" field: not an xpflow state file")
	}
	if *head.Version != Version {
		return nil, fmt.Errorf("unsupported format version %d (this xpflow reads version %d)", *head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	st := &State{}
	if err := dec.Decode(st); err != nil {
		return nil, fmt.Errorf("not a valid version %d state: %w", Version, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the state object")
	}
	if st.Assets == nil {
		st.Assets = map[string]*Asset{}
	}
	// Maps written with omitempty come back nil when empty: an empty one read
	// from a file is made nil too, so a state loads equal to its own encoding.
	if len(st.Models) == 0 {
		st.Models = nil
	}
	for _, m := range st.Models {
		if m != nil && len(m.Latency) == 0 {
			m.Latency = nil
		}
		if m != nil && len(m.Prices) == 0 {
			m.Prices = nil
		}
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return st, nil
}

// Encode returns the bytes of the state file for s: JSON indented by two
// spaces, map keys sorted, with a trailing newline. A nil Assets map is
// written as an empty object.
func Encode(s *State) ([]byte, error) {
	out := *s
	if out.Assets == nil {
		out.Assets = map[string]*Asset{}
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding state: %w", err)
	}
	return append(data, '\n'), nil
}

// Validate reports the first inconsistency in s that would make it unsafe
// to act on: a wrong version, an empty lineage, a null asset or statistic,
// an asset whose address differs from its key, an unknown status, or an
// earlier take without a request hash.
func (s *State) Validate() error {
	if s.Version != Version {
		return fmt.Errorf("unsupported format version %d", s.Version)
	}
	if s.Lineage == "" {
		return errors.New("no lineage")
	}
	for addr, a := range s.Assets {
		if a == nil {
			return fmt.Errorf("asset %q is null", addr)
		}
		if a.Address != addr {
			return fmt.Errorf("asset %q records address %q", addr, a.Address)
		}
		if !a.Status.Valid() {
			return fmt.Errorf("asset %q has unknown status %q", addr, a.Status)
		}
		for i, t := range a.Takes {
			if t.RequestHash == "" {
				return fmt.Errorf("asset %q take %d has no request hash", addr, i+1)
			}
		}
	}
	for id, m := range s.Models {
		if m == nil {
			return fmt.Errorf("model stats %q are null", id)
		}
		for k, v := range m.Latency {
			if v == nil {
				return fmt.Errorf("model %q latency %q is null", id, k)
			}
		}
		for k, v := range m.Prices {
			if v == nil {
				return fmt.Errorf("model %q price %q is null", id, k)
			}
		}
	}
	return nil
}
