//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package state

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// tryLock fails: locking is implemented with flock only, and a store that
// cannot lock must not open.
func tryLock(*os.File) error {
	return fmt.Errorf("file locking on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func unlock(*os.File) error { return nil }
