package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// fileBackend is the Backend of a state file: the JSON snapshot at path,
// the journal at JournalPath(path), the lock at path+".lock". path is the
// real path (RealPath); shown is the path the user gave, for messages.
type fileBackend struct {
	path    string
	shown   string
	journal string
	hooks   *writeHooks // nil in production

	lock *fileLock // held between Lock and Unlock
	// jf is the journal open for appending, or nil until the first
	// Append after Load or Compact.
	jf *os.File
	// size is the length of the valid journal: Load drops a torn tail
	// by truncating to it before the first append.
	size int64
	// pending counts the journal's records that the snapshot does not
	// include; loaded is set once Load succeeded.
	pending int
	loaded  bool
	// broken is set when a failed append could not be undone; every
	// later Append fails with it.
	broken error
}

func newFileBackend(path, shown string, hooks *writeHooks) *fileBackend {
	return &fileBackend{path: path, shown: shown, journal: JournalPath(path), hooks: hooks}
}

func (b *fileBackend) Lock() error {
	l, err := acquireLock(b.path+".lock", b.shown)
	if err != nil {
		return err
	}
	b.lock = l
	return nil
}

// Unlock removes the journal when the snapshot includes all its records,
// so that a state at rest is the JSON file alone, and releases the lock.
func (b *fileBackend) Unlock() error {
	var errs []error
	if b.jf != nil {
		errs = append(errs, b.jf.Close())
		b.jf = nil
	}
	if b.loaded && b.pending == 0 && b.broken == nil {
		if err := os.Remove(b.journal); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing compacted journal: %w", err))
		}
	}
	if b.lock != nil {
		errs = append(errs, b.lock.release())
		b.lock = nil
	}
	return errors.Join(errs...)
}

func (b *fileBackend) Load() (*State, int, error) {
	st, pending, valid, err := loadFiles(b.path, b.journal)
	if err != nil {
		return nil, 0, err
	}
	b.size, b.pending, b.loaded = valid, pending, true
	return st, pending, nil
}

// openJournal opens the journal for appending, creating it (durably) when
// it does not exist and cutting off a torn tail that Load dropped.
func (b *fileBackend) openJournal() error {
	if b.jf != nil {
		return nil
	}
	f, err := os.OpenFile(b.journal, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if err := b.write(b.journal, nil); err != nil {
			return fmt.Errorf("creating journal: %w", err)
		}
		b.size = 0
		f, err = os.OpenFile(b.journal, os.O_WRONLY, 0)
	}
	if err != nil {
		return fmt.Errorf("opening journal %s: %w", b.journal, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening journal %s: %w", b.journal, err)
	}
	if fi.Size() != b.size {
		// Only the torn record Load dropped lies beyond size.
		if err := f.Truncate(b.size); err != nil {
			f.Close()
			return fmt.Errorf("dropping torn record from journal %s: %w", b.journal, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("syncing journal %s: %w", b.journal, err)
		}
	}
	b.jf = f
	return nil
}

func (b *fileBackend) Append(r *Record) error {
	return b.AppendBatch([]*Record{r})
}

// AppendBatch writes the records' lines with one write and one fsync.
func (b *fileBackend) AppendBatch(rs []*Record) error {
	if b.broken != nil {
		return b.broken
	}
	var lines []byte
	for _, r := range rs {
		line, err := encodeRecord(r)
		if err != nil {
			return err
		}
		lines = append(lines, line...)
	}
	if err := b.openJournal(); err != nil {
		return err
	}
	_, err := b.jf.WriteAt(lines, b.size)
	if err == nil {
		err = b.jf.Sync()
	}
	if err != nil {
		// Undo the partial records, or later records would follow
		// garbage and the journal would be corrupt in the middle.
		if terr := b.jf.Truncate(b.size); terr != nil {
			b.broken = fmt.Errorf("journal %s holds a partial record that could not be removed (%v); reopen the state to recover", b.journal, terr)
		}
		return fmt.Errorf("appending to journal %s: %w", b.journal, err)
	}
	b.size += int64(len(lines))
	b.pending += len(rs)
	return nil
}

func (b *fileBackend) Compact(st *State) error {
	data, err := Encode(st)
	if err != nil {
		return err
	}
	if err := b.write(b.path, data); err != nil {
		return fmt.Errorf("writing state %s: %w", b.path, err)
	}
	b.pending = 0
	// The snapshot holds every record: start an empty journal. A new
	// file, not a truncation, so that a reader that opened the old one
	// reads it whole. If this fails the old records stay, and Load skips
	// them because the snapshot's serial covers them.
	if b.size == 0 && b.jf == nil {
		if _, err := os.Stat(b.journal); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	if b.jf != nil {
		b.jf.Close()
		b.jf = nil
	}
	if err := b.write(b.journal, nil); err != nil {
		return fmt.Errorf("emptying journal: %w", err)
	}
	b.size = 0
	return nil
}

func (b *fileBackend) write(path string, data []byte) error {
	return writeFileAtomic(path, data, FileMode, b.hooks)
}
