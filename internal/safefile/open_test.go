//go:build unix

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenNoBlockNeverWaits: a FIFO with no writer opens at once (a plain
// os.Open would wait for a writer forever), a final symbolic link is
// refused, and a regular file reads as usual.
func TestOpenNoBlockNeverWaits(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := OpenNoBlock(fifo)
		if err == nil {
			f.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Errorf("OpenNoBlock(fifo) = %v, want it opened without waiting for a writer", err)
		}
	case <-time.After(10 * time.Second): // a hang shows here; not a timing assertion
		t.Fatal("OpenNoBlock(fifo) blocked waiting for a writer")
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("paid"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenNoBlock(link); err == nil {
		f.Close()
		t.Error("OpenNoBlock(symlink) succeeded, want the final link refused")
	} else if !errors.Is(err, syscall.ELOOP) {
		t.Errorf("OpenNoBlock(symlink) = %v, want ELOOP", err)
	}
	f, err := OpenNoBlock(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 8)
	n, _ := f.Read(b)
	if string(b[:n]) != "paid" {
		t.Errorf("read %q, want %q", b[:n], "paid")
	}
}
