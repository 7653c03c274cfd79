package window

import (
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
type FileStore struct {
	path string
	lock string
	warn func(string)
}

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
	b, err := os.ReadFile(s.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("window: %w", err)
	}
	l, derr := Decode(b)
	if derr != nil {
		s.warn(fmt.Sprintf("warning: the request window ledger %s is unreadable (%v); starting it again empty", s.path, derr))
	}
	if !fn(&l) && derr == nil {
		return nil
	}
	return s.write(l.Encode())
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
