//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// OpenNoBlock opens path for reading without following a final symbolic
// link and with O_NONBLOCK, so that opening a FIFO with no writer returns
// at once instead of waiting for one. Reads of a regular file are
// unaffected by the flag.
func OpenNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
