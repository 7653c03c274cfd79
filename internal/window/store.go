package window

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// Store keeps the ledger of one key where every process using the key sees
// it. Implementations: FileStore (the user's cache directory); a database
// table guarded by an advisory lock fits the same contract.
type Store interface {
	// Update loads the ledger under a lock that excludes every other
	// process's Update, calls fn with it, and saves it when fn returns
	// true. The lock is held only while fn runs, which must not block.
	// Update never waits for the lock longer than the window: on timeout
	// it returns an error and the caller goes on without the ledger.
	Update(ctx context.Context, fn func(*Ledger) bool) error
	// Where describes where the ledger lives, for messages. It never
	// holds the key.
	Where() string
}

// EnvCacheDir overrides the directory of the ledger files.
const EnvCacheDir = "XPFLOW_CACHE_DIR"

// Dir returns the directory of the ledger files: $XPFLOW_CACHE_DIR when set,
// else os.UserCacheDir()/xpflow.
func Dir(getenv func(string) string) (string, error) {
	if d := strings.TrimSpace(getenv(EnvCacheDir)); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("window: no cache directory (set %s): %w", EnvCacheDir, err)
	}
	return filepath.Join(base, "xpflow"), nil
}

// Name returns the ledger file's base name for a key of a service: the
// SHA-256 of both, so that neither can be read back from the name.
func Name(baseURL, key string) string {
	h := sha256.New()
	h.Write([]byte("xpflow window v1\x00"))
	h.Write([]byte(strings.TrimRight(baseURL, "/")))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return "window-" + hex.EncodeToString(h.Sum(nil))[:32] + ".json"
}

// NewOwner returns a fresh random token naming one process in a ledger.
func NewOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// LockTimeout bounds the wait for the ledger lock. A lock is held for
// microseconds, and the kernel drops it when its holder dies, so a lock
// still busy after this is on a file system that does not support locks,
// or held by something that is not xpflow.
const LockTimeout = 10 * time.Second

// staleAfter is the age after which a ledger file is removed when a store
// is opened: it has held nothing for long, and its service may be gone
// (every simulator on a new port makes a new ledger).
const staleAfter = 24 * time.Hour

// FileStore is a Store in a file, locked with an OS file lock (flock on
// Unix, LockFileEx on Windows) on a lock file beside it.
//
// The file is a log: a header line, then one line per change (an entry
// added, an entry closed, a 429's closed-until). A FileStore keeps the
// ledger it last saw in memory with the file offset it read up to, so an
// Update reads only the lines other processes appended since and appends
// only its own changes: its cost does not grow with the requests in the
// window. When the log holds more than twice the live entries (plus
// compactSlack) it is rewritten whole under a new generation, which tells
// every reader to read it again from the start.
type FileStore struct {
	path string
	lock string
	warn func(string)

	mu      sync.Mutex // serialises Update in this process; guards the fields below
	gen     string     // generation of the file led reflects; "" when none
	off     int64      // bytes of the file replayed into led
	records int        // change lines in the file after the header
	led     Ledger     // the ledger as of off
}

// compactSlack is how many change lines beyond twice the live entries a
// ledger file may hold before it is rewritten whole.
const compactSlack = 1024

// OpenFile returns the store of the ledger name in dir, creating dir (0700)
// if needed, and removes ledgers there that have not changed for a day.
// warn receives one line for every ledger found corrupt and rebuilt.
func OpenFile(dir, name string, warn func(string)) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	if warn == nil {
		warn = func(string) {}
	}
	removeStale(dir, name, time.Now())
	path := filepath.Join(dir, name)
	return &FileStore{path: path, lock: strings.TrimSuffix(path, ".json") + ".lock", warn: warn}, nil
}

// removeStale deletes the ledger, lock and temporary files of dir, other
// than keep's, last changed before now-staleAfter. Errors are ignored: another process
// may be removing them too.
func removeStale(dir, keep string, now time.Time) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	keepBase := strings.TrimSuffix(keep, ".json")
	for _, e := range ents {
		n := e.Name()
		ledger := strings.HasPrefix(n, "window-") && !strings.HasPrefix(n, keepBase) &&
			(strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".lock"))
		temp := strings.HasPrefix(n, ".window-") && strings.HasSuffix(n, ".tmp")
		if !ledger && !temp {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(now.Add(-staleAfter)) {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}

// Where returns the ledger's path.
func (s *FileStore) Where() string { return s.path }

// Update implements Store.
func (s *FileStore) Update(ctx context.Context, fn func(*Ledger) bool) error {
	fl := flock.New(s.lock, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		lctx, cancel := context.WithTimeout(ctx, LockTimeout)
		ok, err = fl.TryLockContext(lctx, time.Millisecond)
		cancel()
	}
	if err != nil || !ok {
		if err == nil {
			err = errors.New("still held by another process after " + LockTimeout.String())
		}
		return fmt.Errorf("window: locking %s: %w", s.lock, err)
	}
	defer fl.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()

	size, err := s.catchUp()
	rewrite := size == 0
	if errors.Is(err, ErrCorrupt) {
		s.warn(fmt.Sprintf("warning: the request window ledger %s is unreadable (%v); starting it again empty", s.path, err))
		s.forget()
		rewrite = true
	} else if err != nil {
		s.forget()
		return fmt.Errorf("window: %w", err)
	}
	l := &s.led
	l.log = l.log[:0]
	save := fn(l)
	changes := l.log
	l.log = nil
	switch {
	case rewrite && (save || size > 0):
		return s.compact()
	case !save && len(changes) > 0:
		// Changed but not to be saved: the memory no longer matches the
		// file, so read it whole next time.
		s.forget()
		return nil
	case !save || len(changes) == 0:
		return nil
	}
	var buf []byte
	for _, r := range changes {
		buf = appendRecord(buf, r)
	}
	if err := s.appendAt(size, buf); err != nil {
		s.forget()
		return err
	}
	s.off, s.records = size+int64(len(buf)), s.records+len(changes)
	if s.records > 2*len(l.Entries)+compactSlack {
		return s.compact()
	}
	return nil
}

// forget drops the ledger kept in memory: the next Update reads the file
// from the start.
func (s *FileStore) forget() {
	s.gen, s.off, s.records, s.led = "", 0, 0, Ledger{}
}

// catchUp brings s.led up to the end of the file, reading only what was
// appended since the last Update unless the file was rewritten, and
// returns the size of the file's complete lines (0 when there is no
// file). A last line cut short (a writer killed mid-write, whose grant was
// never let go) is cut off. Caller holds the lock and s.mu.
func (s *FileStore) catchUp() (int64, error) {
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		s.forget()
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := info.Size()
	switch {
	case size == 0:
		s.forget()
		return 0, nil
	case size > maxFileSize:
		return size, fmt.Errorf("%w: %d bytes", ErrCorrupt, size)
	case size < int64(headerLen):
		return size, fmt.Errorf("%w: %d bytes, shorter than the header", ErrCorrupt, size)
	}
	head := make([]byte, headerLen)
	if _, err := f.ReadAt(head, 0); err != nil {
		return size, err
	}
	gen, err := parseHeader(head)
	if err != nil {
		return size, err
	}
	if gen != s.gen || size < s.off {
		s.forget()
		s.gen, s.off = gen, int64(headerLen)
	}
	if size == s.off {
		return size, nil
	}
	b := make([]byte, size-s.off)
	if _, err := f.ReadAt(b, s.off); err != nil {
		return size, err
	}
	used, err := replay(&s.led, b)
	s.records += bytes.Count(b[:used], []byte{'\n'})
	s.off += int64(used)
	if err != nil {
		return size, err
	}
	if s.off < size {
		if err := f.Truncate(s.off); err != nil {
			return size, err
		}
	}
	return s.off, nil
}

// appendAt writes b at offset off of the ledger file, the end of its
// complete lines.
func (s *FileStore) appendAt(off int64, b []byte) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt(b, off)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("window: writing %s: %w", s.path, err)
	}
	return nil
}

// compact rewrites the ledger file whole from s.led under a new
// generation. Caller holds the lock and s.mu.
func (s *FileStore) compact() error {
	gen := NewOwner()
	data := encodeFile(&s.led, gen)
	if err := s.write(data); err != nil {
		s.forget()
		return err
	}
	s.gen, s.off, s.records = gen, int64(len(data)), len(s.led.Entries)
	if !s.led.ClosedUntil.IsZero() {
		s.records++
	}
	return nil
}

// write replaces the ledger file: a reader under the lock sees the old file
// or the new one, never a part. The temporary file is created 0600.
func (s *FileStore) write(data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(s.path), ".window-*.tmp")
	if err != nil {
		return fmt.Errorf("window: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("window: writing %s: %w", s.path, err)
	}
	return nil
}
