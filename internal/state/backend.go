package state

import (
	"errors"
	"fmt"
)

// Backend is the durable storage under a Store: a snapshot of the whole
// state plus the records appended since it was written, behind an
// exclusive writer lock. The file backend (Open) keeps the snapshot in the
// JSON state file and the records in a journal beside it; another backend,
// such as a database, implements the same five operations and is opened
// with OpenBackend, without any change to the executor.
//
// A Store calls Lock first and Unlock last, and the others in between,
// one at a time (never concurrently).
type Backend interface {
	// Lock takes the exclusive writer lock at once or fails; a lock held
	// by someone else is a *LockedError naming the holder.
	Lock() error
	// Load returns the snapshot with every durable record replayed over
	// it, and how many records were replayed (the records not yet
	// compacted). A missing snapshot with no records is New(). Anything
	// unreadable is an error and nothing is changed, except that a record
	// torn by a crash in the middle of its append, the last one, is
	// dropped: it was never acknowledged by Append.
	Load() (st *State, pending int, err error)
	// Append makes r durable before returning. r.Serial is one more than
	// the serial of the last snapshot or record. If Append fails, r is not
	// part of the state, and a later Load must not see it.
	Append(r *Record) error
	// Compact makes st, which includes every appended record and has the
	// serial of the last one, the new snapshot, and discards the records
	// it includes. If it fails, the previous snapshot and records still
	// hold the state.
	Compact(st *State) error
	// Unlock releases the lock taken by Lock.
	Unlock() error
}

// Record is one change to a state, as appended to a Backend: the assets
// put (each replaces the record of its address), the addresses removed,
// the statistics of the models that changed (each replaces the whole
// entry of its model), and the new balance.
type Record struct {
	Serial  uint64                 `json:"serial"`
	Lineage string                 `json:"lineage"`
	Assets  map[string]*Asset      `json:"assets,omitempty"`
	Removed []string               `json:"removed,omitempty"`
	Models  map[string]*ModelStats `json:"models,omitempty"`
	Balance *Balance               `json:"balance,omitempty"`
	// Fenced asks the backend to commit r only if this writer still holds
	// a live claim on every asset of r, and else to refuse it whole with
	// an error wrapping ErrClaimLost (see Store.EditFenced). A backend
	// without claims, such as the file (one writer, under its lock),
	// always holds them. It is never written.
	Fenced bool `json:"-"`
}

// ErrClaimLost is wrapped by the refusal of a fenced write: another runner
// took the asset over (this runner's lease lapsed), so this one must not
// build on it, and above all must not send its generate request.
var ErrClaimLost = errors.New("claim lost to another runner")

// Validate reports the first inconsistency in r: no lineage, or a null or
// inconsistent asset or model statistic (see State.Validate).
func (r *Record) Validate() error {
	if r.Lineage == "" {
		return errors.New("no lineage")
	}
	// State.Validate checks assets and models the same way.
	part := &State{Version: Version, Lineage: r.Lineage, Assets: r.Assets, Models: r.Models}
	return part.Validate()
}

// Apply replays r over st, which must be the state it follows: same
// lineage, serial one less. The assets and statistics of r become part of
// st without being copied.
func (r *Record) Apply(st *State) error {
	if r.Lineage != st.Lineage {
		return fmt.Errorf("record %d belongs to state lineage %s, not %s", r.Serial, r.Lineage, st.Lineage)
	}
	if r.Serial != st.Serial+1 {
		return fmt.Errorf("record %d does not follow serial %d (records are missing)", r.Serial, st.Serial)
	}
	if st.Assets == nil {
		st.Assets = map[string]*Asset{}
	}
	for _, addr := range r.Removed {
		delete(st.Assets, addr)
	}
	for addr, a := range r.Assets {
		st.Assets[addr] = a
	}
	for id, m := range r.Models {
		if st.Models == nil {
			st.Models = map[string]*ModelStats{}
		}
		st.Models[id] = m
	}
	if r.Balance != nil {
		st.Balance = r.Balance
	}
	st.Serial = r.Serial
	return nil
}
