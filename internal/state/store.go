package state

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// FileMode is the mode of a state file: it is the user's receipt and may
// name private prompts, so only the owner reads it.
const FileMode os.FileMode = 0o600

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("state store is closed")

// Store is an open, locked state file. Its methods are safe for concurrent
// use by many goroutines; every change goes through Update and is on disk
// before Update returns.
type Store struct {
	path string
	// write is WriteFileAtomic with test hooks; set once by Open.
	write func(path string, data []byte, perm os.FileMode) error

	mu     sync.Mutex
	state  *State    // guarded by mu; the last version written (or loaded)
	lock   *fileLock // guarded by mu; nil once closed
	closed bool      // guarded by mu
}

// Open locks the state file at path and loads it. The lock is an exclusive
// lock on the sibling file REAL+".lock", where REAL is RealPath(path): a
// symlinked state file, a symlinked directory or a path with ".." all take
// the same lock as the file itself, and writes replace the real file, never
// the link. The lock file records the holder's pid, host name and start
// time as JSON. When another process or Store holds it, Open fails at once
// with a *LockedError naming the holder.
//
// A missing state file means a new empty state, not written until the
// first Update. A file that exists but cannot be read or parsed, or has an
// unknown version, is an error naming the path and the cause; the file is
// never rewritten, and the lock is released.
func Open(path string) (*Store, error) {
	return openStore(path, nil)
}

func openStore(path string, hooks *writeHooks) (*Store, error) {
	real, err := RealPath(path)
	if err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	lock, err := acquireLock(real+".lock", path)
	if err != nil {
		return nil, err
	}
	st, err := Load(real)
	if err != nil {
		if rerr := lock.release(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	return &Store{
		path:  real,
		state: st,
		lock:  lock,
		write: func(p string, data []byte, perm os.FileMode) error {
			return writeFileAtomic(p, data, perm, hooks)
		},
	}, nil
}

// Path returns the real path of the state file, symlinks resolved.
func (s *Store) Path() string { return s.path }

// Update applies fn to a copy of the state, increments Serial and writes
// the whole state durably before returning. If fn returns an error, or
// changes Version or Lineage, nothing is written and the state is as
// before. If the write fails the state stays at the last durable version
// and the error, naming the path, is returned.
//
// fn runs under the store's mutex: it must not call other Store methods,
// and must not keep the *State or anything reachable from it after it
// returns.
func (s *Store) Update(fn func(*State) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("updating %s: %w", s.path, ErrClosed)
	}
	next := s.state.Clone()
	if err := fn(next); err != nil {
		return err
	}
	if next.Version != s.state.Version || next.Lineage != s.state.Lineage {
		return fmt.Errorf("updating %s: version and lineage of a state never change", s.path)
	}
	next.Serial = s.state.Serial + 1
	if err := next.Validate(); err != nil {
		return fmt.Errorf("updating %s: %w", s.path, err)
	}
	data, err := Encode(next)
	if err != nil {
		return fmt.Errorf("updating %s: %w", s.path, err)
	}
	// Keep in memory exactly what a later Load will see.
	durable, err := Decode(data)
	if err != nil {
		return fmt.Errorf("updating %s: encoded state does not read back: %w", s.path, err)
	}
	if err := s.write(s.path, data, FileMode); err != nil {
		if errors.Is(err, errDirSync) {
			// The new state is in place; later writes must build on it.
			s.state = durable
		}
		return fmt.Errorf("writing state %s: %w", s.path, err)
	}
	s.state = durable
	return nil
}

// Snapshot returns a deep copy of the current state.
func (s *Store) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Clone()
}

// Close releases the lock; the state file and the lock file stay. Updates
// after Close fail with ErrClosed. Calling Close again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.lock.release()
	s.lock = nil
	if err != nil {
		return fmt.Errorf("releasing lock on %s: %w", s.path, err)
	}
	return nil
}
