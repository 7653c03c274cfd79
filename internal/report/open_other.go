//go:build !unix

package report

import "os"

// openNoBlock opens path for reading. Only unix has FIFOs whose open
// blocks.
func openNoBlock(path string) (*os.File, error) {
	return os.Open(path)
}
