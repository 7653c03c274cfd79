package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// LockedError is returned by Open when another process, or another Store
// in this process, holds the lock on the state file. The holder fields are
// zero when the holder had not yet recorded itself in the lock file, or
// when the platform does not let others read a locked file (Windows).
type LockedError struct {
	Path    string    // the state file
	PID     int       // the holder's process id
	Host    string    // the holder's host name
	Started time.Time // when the holder took the lock
}

// Error names the state file and the holder.
func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("state %s is locked by another process (holder unknown)", e.Path)
	}
	return fmt.Sprintf("state %s is locked by pid %d on host %s since %s",
		e.Path, e.PID, e.Host, e.Started.Format(time.RFC3339))
}

// lockInfo is the content of the lock file while it is held.
type lockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// fileLock is a held lock on a lock file: an flock(2) on Unix, LockFileEx
// on Windows, both through github.com/gofrs/flock.
type fileLock struct {
	path string
	fl   *flock.Flock
}

// maxLinks bounds how many symbolic links RealPath follows.
const maxLinks = 40

// RealPath returns the absolute path of the file that path names, with
// every symbolic link resolved, including a last link whose target does not
// exist yet. Every spelling of one state file (through a symlink, a
// symlinked directory or "..") gives the same real path, so they share one
// lock and writes go to the file itself, not over the link. The directory
// must exist.
func RealPath(path string) (string, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", path, err)
	}
	for hops := 0; ; hops++ {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", fmt.Errorf("resolving the directory of %s: %w", path, err)
		}
		p = filepath.Join(dir, filepath.Base(p))
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", path, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		if hops == maxLinks {
			return "", fmt.Errorf("resolving %s: more than %d symbolic links", path, maxLinks)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", path, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target) // dir has no links left, so ".." is exact
		}
		p = target
	}
}

// acquireLock takes the lock on lockPath at once or fails; a lock held
// elsewhere is a *LockedError about statePath. The lock file is created if
// needed and is never removed: removing it would let two processes lock
// two different files of the same name. Locks belong to the open file, so
// a second Store in the same process conflicts too, and the system
// releases the lock when the holder dies.
func acquireLock(lockPath, statePath string) (*fileLock, error) {
	fl := flock.New(lockPath, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	if !ok {
		return nil, lockedError(lockPath, statePath, time.Sleep)
	}
	host, _ := os.Hostname()
	info, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Started: time.Now().Round(time.Second)})
	// Recording the holder is a courtesy to whoever is refused next; a
	// platform with mandatory locks (Windows) may not allow it.
	_ = writeLockInfo(lockPath, append(info, '\n'))
	return &fileLock{path: lockPath, fl: fl}, nil
}

func writeLockInfo(lockPath string, data []byte) error {
	f, err := os.OpenFile(lockPath, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return err
	}
	_, err = f.WriteAt(data, 0)
	return errors.Join(err, f.Close())
}

// holderReads and holderWait bound how long lockedError waits for a holder
// that has taken the lock but not yet recorded itself: it writes its
// record right after taking the lock, so a refusal read in between would
// otherwise say "holder unknown" (seen when two applies start at once).
const (
	holderReads = 10
	holderWait  = 10 * time.Millisecond
)

// lockedError reads the holder from the lock file, waiting briefly (with
// wait, time.Sleep outside tests) for a holder that has not recorded
// itself yet.
func lockedError(lockPath, statePath string, wait func(time.Duration)) *LockedError {
	e := &LockedError{Path: statePath}
	for i := 0; i < holderReads; i++ {
		if i > 0 {
			wait(holderWait)
		}
		if info, ok := readLockInfo(lockPath); ok {
			e.PID, e.Host, e.Started = info.PID, info.Host, info.Started
			return e
		}
	}
	return e
}

// readLockInfo reads the holder's record; ok is false while there is none.
func readLockInfo(lockPath string) (lockInfo, bool) {
	var info lockInfo
	f, err := os.Open(lockPath)
	if err != nil {
		return info, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil || json.Unmarshal(data, &info) != nil || info.PID == 0 {
		return info, false
	}
	return info, true
}

// release empties the lock file, so it names no stale holder, and unlocks
// it.
func (l *fileLock) release() error {
	_ = writeLockInfo(l.path, nil)
	return l.fl.Close()
}

// FileLock is a held exclusive lock taken with LockFile.
type FileLock struct{ l *fileLock }

// LockFile takes the exclusive lock on lockPath (created if needed, never
// removed) at once or fails with a *LockedError whose Path is name. It is
// the state's own lock mechanism, for other files xpflow guards, such as
// an output directory.
func LockFile(lockPath, name string) (*FileLock, error) {
	l, err := acquireLock(lockPath, name)
	if err != nil {
		return nil, err
	}
	return &FileLock{l: l}, nil
}

// Release empties the lock file and unlocks it.
func (f *FileLock) Release() error { return f.l.release() }
