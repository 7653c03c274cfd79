//go:build !unix

package safefile

import "os"

// OpenNoBlock opens path for reading. Only unix has FIFOs whose open
// blocks.
func OpenNoBlock(path string) (*os.File, error) {
	return os.Open(path)
}
