package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// The files xpflow keeps in an output directory.
const (
	// outLockName is locked by every apply writing into the directory, so
	// two applies of different states (a real one and a -simulate one, say)
	// can never write it at once.
	outLockName = ".xpflow.lock"
	// markerName records the state lineage the directory belongs to.
	markerName = ".xpflow-lineage"
)

// outMarker is the content of an output directory's marker file.
type outMarker struct {
	Lineage string    `json:"lineage"`
	State   string    `json:"state,omitempty"` // the claiming state, for the message
	Claimed time.Time `json:"claimed"`
}

// OutputDirClaimedError is returned when an output directory belongs to a
// state of another lineage: two states writing one directory overwrite
// each other's paid outputs and then download over each other forever.
type OutputDirClaimedError struct {
	Dir     string
	Marker  string // the marker file
	Lineage string // the directory's owner
	State   string // the owner's state file, if recorded
	Ours    string // the lineage of the state applying now
}

// Error names both states and the ways out.
func (e *OutputDirClaimedError) Error() string {
	owner := "another state"
	if e.State != "" {
		owner = "the state " + e.State
	}
	return fmt.Sprintf("output directory %s belongs to %s (lineage %s), not to this one (lineage %s): "+
		"two states writing one directory overwrite each other's paid outputs. Give this campaign its own output_dir, "+
		"or delete %s if that state is gone for good", e.Dir, owner, e.Lineage, e.Ours, e.Marker)
}

// claimOutputDir creates outDir, locks it for this apply and claims it for
// lineage with a marker file, or fails when another apply holds it or
// another lineage owns it. release unlocks it.
func claimOutputDir(outDir, lineage, statePath string, now time.Time) (release func() error, err error) {
	release, err = LockOutputDir(outDir)
	if err != nil {
		return nil, err
	}
	if err := checkMarker(outDir, lineage, statePath, now); err != nil {
		return nil, errors.Join(err, release())
	}
	return release, nil
}

// LockOutputDir creates outDir and takes the lock that guards it
// (OUT/.xpflow.lock) at once, or fails, naming the holder, when another
// process writes it. Every command writing under an output directory
// takes it; release unlocks it.
func LockOutputDir(outDir string) (release func() error, err error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	lock, err := state.LockFile(filepath.Join(outDir, outLockName), outDir)
	if err != nil {
		var locked *state.LockedError
		if errors.As(err, &locked) {
			who := "another process"
			if locked.PID != 0 {
				who = fmt.Sprintf("pid %d on host %s since %s", locked.PID, locked.Host, locked.Started.Format(time.RFC3339))
			}
			return nil, fmt.Errorf("output directory %s is being written by another apply (%s): wait for it to finish", outDir, who)
		}
		return nil, fmt.Errorf("lock output directory: %w", err)
	}
	return lock.Release, nil
}

// checkMarker reads the marker of outDir: missing, it is written for
// lineage; present, its lineage must be ours.
func checkMarker(outDir, lineage, statePath string, now time.Time) error {
	path := filepath.Join(outDir, markerName)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b, _ := json.MarshalIndent(outMarker{Lineage: lineage, State: statePath, Claimed: now.UTC().Round(time.Second)}, "", "  ")
		if err := state.WriteFileAtomic(path, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("claim output directory %s: %w", outDir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read the output directory's marker: %w", err)
	}
	var m outMarker
	if err := json.Unmarshal(data, &m); err != nil || m.Lineage == "" {
		return fmt.Errorf("the output directory's marker %s is not one xpflow wrote (%q): delete it if no other state uses %s",
			path, strings.TrimSpace(string(data[:min(len(data), 80)])), outDir)
	}
	if m.Lineage != lineage {
		return &OutputDirClaimedError{Dir: outDir, Marker: path, Lineage: m.Lineage, State: m.State, Ours: lineage}
	}
	return nil
}

// prepareOutputs claims the output directory for this run's state (see
// claimOutputDir) and removes what a killed apply left in it. The returned
// function releases the directory's lock.
func (a *applier) prepareOutputs() (func(), error) {
	snap := a.opts.Store.Snapshot()
	release, err := claimOutputDir(a.dl.outDir, snap.Lineage, a.opts.Store.Path(), a.clock.Now())
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(a.plan.Nodes))
	for i, n := range a.plan.Nodes {
		addrs[i] = n.Addr
	}
	if err := removeStaleDownloads(a.dl.outDir, blockDirs(addrs)); err != nil {
		_ = release()
		return nil, err
	}
	return func() { _ = release() }, nil
}
