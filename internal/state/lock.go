package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LockedError is returned by Open when another process, or another Store
// in this process, holds the lock on the state file. The holder fields are
// zero when the holder had not yet recorded itself in the lock file.
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

// errWouldBlock is what tryLock returns when someone else holds the lock.
var errWouldBlock = errors.New("lock held elsewhere")

// lockInfo is the content of the lock file while it is held.
type lockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// fileLock is a held advisory lock on a lock file.
type fileLock struct {
	f *os.File
}

// acquireLock takes the lock on lockPath at once or fails; a lock held
// elsewhere is a *LockedError about statePath. The lock file is created if
// needed and is never removed: removing it would let two processes lock
// two different files of the same name.
func acquireLock(lockPath, statePath string) (*fileLock, error) {
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", lockPath, err)
	}
	if err := tryLock(f); err != nil {
		defer f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, lockedError(f, statePath)
		}
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	host, _ := os.Hostname()
	info, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Started: time.Now().Round(time.Second)})
	if err := writeLockInfo(f, append(info, '\n')); err != nil {
		_ = unlock(f)
		f.Close()
		return nil, fmt.Errorf("recording holder in lock file %s: %w", lockPath, err)
	}
	return &fileLock{f: f}, nil
}

func writeLockInfo(f *os.File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(data, 0)
	return err
}

// lockedError reads the holder from the lock file f.
func lockedError(f *os.File, statePath string) *LockedError {
	e := &LockedError{Path: statePath}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
	if err != nil {
		return e
	}
	var info lockInfo
	if json.Unmarshal(data, &info) == nil {
		e.PID, e.Host, e.Started = info.PID, info.Host, info.Started
	}
	return e
}

// release empties the lock file, so it names no stale holder, and unlocks
// it.
func (l *fileLock) release() error {
	truncErr := l.f.Truncate(0)
	unlockErr := unlock(l.f)
	closeErr := l.f.Close()
	return errors.Join(truncErr, unlockErr, closeErr)
}
