package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// errDirSync marks a WriteFileAtomic failure that happened after the rename:
// the new content is in place but may not survive a crash.
var errDirSync = errors.New("syncing directory")

// writeHooks lets tests observe and break WriteFileAtomic; nil in
// production.
type writeHooks struct {
	// afterTemp is called with the temporary file's name once it is
	// created; a non-nil error aborts the write at that point.
	afterTemp func(tmp string) error
	// syncDir, if set, replaces the directory sync.
	syncDir func(dir string) error
}

// WriteFileAtomic writes data to path so that a reader, or a crash, sees
// either the old content or the new, never a mix or a truncated file. It
// creates a temporary file in the same directory with mode perm, writes and
// syncs it, closes it, renames it over path and syncs the directory. On error
// the temporary file is removed and path is untouched, except when only the
// final directory sync failed: then path holds the new content, which may
// not survive a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileAtomic(path, data, perm, nil)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode, hooks *writeHooks) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "." // CreateTemp would use $TMPDIR, another file system.
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if hooks != nil && hooks.afterTemp != nil {
		if err := hooks.afterTemp(tmp); err != nil {
			return err
		}
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	renamed = true
	sync := syncDir
	if hooks != nil && hooks.syncDir != nil {
		sync = hooks.syncDir
	}
	if err := sync(dir); err != nil {
		return fmt.Errorf("%w %s after replacing %s: %w", errDirSync, dir, path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// handle and makes renames durable on its own.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
