//go:build !unix

package report

import "errors"

// Mkfifo fails: there are no named pipes in the file system here.
func Mkfifo(path string) error { return errors.New("no FIFOs on this system") }
