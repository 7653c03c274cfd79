package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// FileMode is the mode of a state file: it is the user's receipt and may
// name private prompts, so only the owner reads it.
const FileMode os.FileMode = 0o600

// ErrClosed is returned by Update and Edit after Close.
var ErrClosed = errors.New("state store is closed")

// CompactEvery is the fewest journal records a Store appends before it
// compacts them into the snapshot. It compacts after max(CompactEvery,
// number of assets) records, so that rewriting the snapshot costs O(1)
// per record amortised, and when it is closed.
const CompactEvery = 1000

// Store is an open, locked state. Its methods are safe for concurrent use
// by many goroutines; every change goes through Update or Edit and is
// durable before they return. Edits made at the same time are committed
// together: their records are appended with one sync (group commit).
//
// Lock order: flushMu before mu. Backend calls happen under flushMu, so
// they never run concurrently.
type Store struct {
	name string // the state file's path, or what names the backend

	flushMu sync.Mutex // held by the one goroutine calling the backend

	mu       sync.Mutex
	backend  Backend      // calls guarded by flushMu
	state    *State       // guarded by mu; the state with every queued record, never handed out
	open     *commitBatch // guarded by mu; records queued for the next append
	written  bool         // guarded by mu; a snapshot exists, so records may be appended
	pending  int          // guarded by mu; records appended since the last snapshot
	since    int          // guarded by mu; records since the last compaction attempt
	broken   error        // guarded by mu; a failed append: later writes fail with it
	minBatch int          // set once; CompactEvery unless a test lowers it
	closed   bool         // guarded by mu
}

// commitBatch is the records of concurrent Edits, appended together.
type commitBatch struct {
	recs []*Record // guarded by Store.mu until taken for appending
	done bool      // guarded by Store.flushMu
	err  error     // guarded by Store.flushMu
}

// Open locks the state file at path and loads it: the JSON snapshot and
// its journal, JournalPath(REAL), where REAL is RealPath(path). The lock
// is an exclusive lock on the sibling file REAL+".lock": a symlinked state
// file, a symlinked directory or a path with ".." all take the same lock
// and the same journal as the file itself, and writes replace the real
// file, never the link. The lock file records the holder's pid, host name
// and start time as JSON. When another process or Store holds it, Open
// fails at once with a *LockedError naming the holder.
//
// A missing state file means a new empty state, not written until the
// first Update or Edit. A file that exists but cannot be read or parsed,
// has an unknown version, or whose journal is corrupt before its last
// record, is an error naming the path and the cause; the files are never
// rewritten, and the lock is released. A torn last journal record, left by
// a crash in the middle of its append, is dropped.
func Open(path string) (*Store, error) {
	return openStore(path, nil)
}

func openStore(path string, hooks *writeHooks) (*Store, error) {
	real, err := RealPath(path)
	if err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	return OpenBackend(real, newFileBackend(real, path, hooks))
}

// OpenBackend locks b and loads the state from it. name identifies the
// state in messages (a path, or a database URL without credentials).
func OpenBackend(name string, b Backend) (*Store, error) {
	if err := b.Lock(); err != nil {
		return nil, err
	}
	st, pending, err := b.Load()
	if err != nil {
		if rerr := b.Unlock(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	return &Store{name: name, backend: b, state: st, open: &commitBatch{}, written: st.Serial > 0,
		pending: pending, since: pending, minBatch: CompactEvery}, nil
}

// Path returns the real path of the state file, symlinks resolved (the
// name given to OpenBackend).
func (s *Store) Path() string { return s.name }

// Update applies fn to a copy of the whole state, increments Serial and
// writes the whole state durably as the new snapshot before returning:
// its cost grows with the state, so it suits rare changes (state rm);
// apply's many small changes use Edit. If fn returns an error, or changes
// Version or Lineage, nothing is written and the state is as before. If
// the write fails the state stays at the last durable version and the
// error, naming the path, is returned.
//
// fn runs under the store's mutex: it must not call other Store methods,
// and must not keep the *State or anything reachable from it after it
// returns.
func (s *Store) Update(fn func(*State) error) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return err
	}
	next := s.state.Clone()
	if err := fn(next); err != nil {
		return err
	}
	if next.Version != s.state.Version || next.Lineage != s.state.Lineage {
		return fmt.Errorf("updating %s: version and lineage of a state never change", s.name)
	}
	next.Serial = s.state.Serial + 1
	if err := next.Validate(); err != nil {
		return fmt.Errorf("updating %s: %w", s.name, err)
	}
	data, err := Encode(next)
	if err != nil {
		return fmt.Errorf("updating %s: %w", s.name, err)
	}
	// Keep in memory exactly what a later Load will see.
	durable, err := Decode(data)
	if err != nil {
		return fmt.Errorf("updating %s: encoded state does not read back: %w", s.name, err)
	}
	return s.compactTo(durable)
}

// compactTo writes st, which holds every queued record, as the snapshot
// and makes it the store's state; the records queued for the next append
// are then durable too. The caller holds flushMu and mu.
func (s *Store) compactTo(st *State) error {
	s.since = 0
	err := s.backend.Compact(st)
	if err != nil && !errors.Is(err, errDirSync) {
		return err
	}
	// On errDirSync the new state is in place; later writes build on it.
	s.state, s.pending, s.written = st, 0, true
	s.open.done = true
	s.open = &commitBatch{}
	return err
}

// Edit changes a few records at a cost that does not grow with the state:
// fn gets a State holding copies of the current records of addrs (those
// that exist), all model statistics and the balance. Whatever fn leaves
// in its Assets is put, an address of addrs it removed is removed, and
// changed model statistics and balance are kept; all of it becomes one
// journal record, durable before Edit returns. fn must not remove model
// statistics or the balance. If fn returns an error, changes Version or
// Lineage, or leaves an inconsistent record, nothing is written.
//
// fn runs under the store's mutex, with the same rules as for Update.
func (s *Store) Edit(addrs []string, fn func(*State) error) error {
	b, err := s.queue(addrs, fn)
	if err != nil {
		return err
	}
	if err := s.commit(b); err != nil {
		return fmt.Errorf("writing state %s: %w", s.name, err)
	}
	return nil
}

// EditFenced is Edit for a write that must only be committed while this
// runner still holds the claims of the assets it writes: the intent
// written before a generate request, with several runners on one
// campaign. Its record is appended alone, after the records queued before
// it, and applied in memory only once durable. If the backend refuses it
// (an error wrapping ErrClaimLost), nothing is written, the state is as
// before, and the store stays usable.
func (s *Store) EditFenced(addrs []string, fn func(*State) error) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return err
	}
	// What was queued before comes first, so the records stay in order.
	if err := s.flushLocked(); err != nil {
		return fmt.Errorf("writing state %s: %w", s.name, err)
	}
	part := s.part(addrs)
	if err := fn(part); err != nil {
		return err
	}
	rec, err := s.diff(addrs, part)
	if err != nil {
		return fmt.Errorf("updating %s: %w", s.name, err)
	}
	rec.Fenced = true
	if err := s.backend.Append(rec); err != nil {
		if !errors.Is(err, ErrClaimLost) {
			s.broken = fmt.Errorf("an earlier write failed: %w", err)
		}
		return fmt.Errorf("writing state %s: %w", s.name, err)
	}
	if err := rec.Apply(s.state); err != nil {
		return fmt.Errorf("updating %s: %w", s.name, err) // unreachable: diff set serial and lineage
	}
	s.pending++
	s.since++
	return nil
}

// flushLocked makes the queued records durable. The caller holds flushMu
// and mu.
func (s *Store) flushLocked() error {
	b := s.open
	if !s.written {
		return s.compactTo(s.state)
	}
	if len(b.recs) == 0 {
		return nil
	}
	s.open = &commitBatch{}
	err := s.appendRecords(b.recs)
	b.done, b.err = true, err
	if err != nil {
		s.broken = fmt.Errorf("an earlier write failed: %w", err)
		return err
	}
	s.pending += len(b.recs)
	s.since += len(b.recs)
	return nil
}

// writableLocked returns why the store takes no more changes: it is
// closed, or an earlier write failed. s.mu must be held.
func (s *Store) writableLocked() error {
	if s.closed {
		return fmt.Errorf("updating %s: %w", s.name, ErrClosed)
	}
	if s.broken != nil {
		return fmt.Errorf("updating %s: %w", s.name, s.broken)
	}
	return nil
}

// queue runs fn, applies its record to the state in memory and adds it to
// the open batch, which it returns.
func (s *Store) queue(addrs []string, fn func(*State) error) (*commitBatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return nil, err
	}
	part := s.part(addrs)
	if err := fn(part); err != nil {
		return nil, err
	}
	rec, err := s.diff(addrs, part)
	if err != nil {
		return nil, fmt.Errorf("updating %s: %w", s.name, err)
	}
	if err := rec.Apply(s.state); err != nil {
		return nil, fmt.Errorf("updating %s: %w", s.name, err) // unreachable: diff set serial and lineage
	}
	s.open.recs = append(s.open.recs, rec)
	return s.open, nil
}

// commit makes the records of b durable, with those of every Edit queued
// meanwhile. One goroutine at a time appends; the others wait for it and
// find their batch done, or append the next batch themselves.
func (s *Store) commit(b *commitBatch) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if b.done {
		return b.err
	}
	s.mu.Lock()
	if err := s.broken; err != nil {
		s.mu.Unlock()
		return err
	}
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if !s.written {
		// Nothing is on disk yet: the first write is a snapshot, so a
		// journal never exists without one.
		defer s.mu.Unlock()
		return s.compactTo(s.state)
	}
	recs := b.recs
	s.open = &commitBatch{}
	s.mu.Unlock()

	err := s.appendRecords(recs)

	s.mu.Lock()
	defer s.mu.Unlock()
	b.done, b.err = true, err
	if err != nil {
		// The records are applied in memory but not durable: refuse every
		// later write rather than build on them.
		s.broken = fmt.Errorf("an earlier write failed: %w", err)
		return err
	}
	s.pending += len(recs)
	s.since += len(recs)
	if s.since >= max(s.minBatch, len(s.state.Assets)) {
		// The records are durable whatever happens here; a failed
		// compaction is tried again after as many records.
		_ = s.compactTo(s.state)
	}
	return nil
}

// BatchAppender is a Backend that makes several records durable at the
// cost of one; a Store uses it, when its backend has it, to append the
// records of concurrent Edits together.
type BatchAppender interface {
	// AppendBatch makes every record of rs durable, in order, before
	// returning; if it fails, none of them is part of the state.
	AppendBatch(rs []*Record) error
}

func (s *Store) appendRecords(recs []*Record) error {
	if ba, ok := s.backend.(BatchAppender); ok {
		return ba.AppendBatch(recs)
	}
	for _, r := range recs {
		if err := s.backend.Append(r); err != nil {
			return err
		}
	}
	return nil
}

// part returns the State that Edit hands to fn.
func (s *Store) part(addrs []string) *State {
	p := &State{Version: s.state.Version, Serial: s.state.Serial, Lineage: s.state.Lineage,
		Assets: make(map[string]*Asset, len(addrs))}
	for _, addr := range addrs {
		if a, ok := s.state.Assets[addr]; ok {
			p.Assets[addr] = a.Clone()
		}
	}
	if s.state.Models != nil {
		p.Models = make(map[string]*ModelStats, len(s.state.Models))
		for id, m := range s.state.Models {
			p.Models[id] = m.clone()
		}
	}
	if s.state.Balance != nil {
		b := *s.state.Balance
		p.Balance = &b
	}
	return p
}

// diff returns the record of what fn changed in part, as a later Load will
// read it back.
func (s *Store) diff(addrs []string, part *State) (*Record, error) {
	if part.Version != s.state.Version || part.Lineage != s.state.Lineage {
		return nil, errors.New("version and lineage of a state never change")
	}
	rec := &Record{Serial: s.state.Serial + 1, Lineage: s.state.Lineage, Assets: part.Assets}
	for _, addr := range addrs {
		if _, kept := part.Assets[addr]; !kept && s.state.Assets[addr] != nil {
			rec.Removed = append(rec.Removed, addr)
		}
	}
	for id := range s.state.Models {
		if _, ok := part.Models[id]; !ok {
			return nil, fmt.Errorf("statistics of model %q cannot be removed", id)
		}
	}
	for id, m := range part.Models {
		if m == nil {
			return nil, fmt.Errorf("model stats %q are null", id)
		}
		if !sameJSON(m, s.state.Models[id]) {
			if rec.Models == nil {
				rec.Models = map[string]*ModelStats{}
			}
			rec.Models[id] = m
		}
	}
	switch {
	case part.Balance == nil && s.state.Balance != nil:
		return nil, errors.New("the balance cannot be removed")
	case part.Balance != nil && (s.state.Balance == nil || *part.Balance != *s.state.Balance):
		rec.Balance = part.Balance
	}
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	// Keep in memory exactly what a later Load will see.
	payload, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding journal record: %w", err)
	}
	durable, err := decodeRecord(payload)
	if err != nil {
		return nil, fmt.Errorf("encoded record does not read back: %w", err)
	}
	return durable, nil
}

// sameJSON reports whether a and b encode alike, which is what matters to
// the file: an empty map and a missing one are the same.
func sameJSON(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}

// Compact writes the state as the snapshot when journal records are
// pending, so the snapshot alone holds the whole state. Close compacts too.
func (s *Store) Compact() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("compacting %s: %w", s.name, ErrClosed)
	}
	if (s.pending == 0 && len(s.open.recs) == 0) || s.broken != nil {
		return s.broken
	}
	if err := s.compactTo(s.state); err != nil {
		return fmt.Errorf("compacting %s: %w", s.name, err)
	}
	return nil
}

// Snapshot returns a deep copy of the current state.
func (s *Store) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Clone()
}

// Close compacts pending journal records into the snapshot and releases
// the lock; the state file and the lock file stay. If compaction fails the
// journal keeps the records, the lock is released all the same and the
// error is returned. Updates after Close fail with ErrClosed. Calling
// Close again does nothing.
func (s *Store) Close() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var cerr error
	if (s.pending > 0 || len(s.open.recs) > 0) && s.broken == nil {
		if err := s.compactTo(s.state); err != nil {
			cerr = fmt.Errorf("folding the journal into %s failed (%w); no change is lost: "+
				"the journal still holds every one, and the next command that opens the state replays it and folds it in", s.name, err)
		}
	}
	if err := s.backend.Unlock(); err != nil {
		return errors.Join(cerr, fmt.Errorf("releasing lock on %s: %w", s.name, err))
	}
	return cerr
}
