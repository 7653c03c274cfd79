//go:build unix

package report

import "syscall"

// Mkfifo makes a named pipe at path, for the tests of hostile paths.
func Mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
