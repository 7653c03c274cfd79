package report

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/xpflow/xpflow/internal/safefile"
	"github.com/xpflow/xpflow/internal/state"
)

// The results of checking a recorded output file against the state.
const (
	// fileOK: a regular file with the recorded size and sha256.
	fileOK = "ok"
	// fileMissing: nothing at the recorded path.
	fileMissing = "missing"
	// fileChanged: a regular file whose size or sha256 differs from the
	// record, so it is not the output that was generated.
	fileChanged = "changed"
	// fileNotRegular: a directory, FIFO, device or socket; it is never read.
	fileNotRegular = "not-regular"
	// fileUnverified: the state records no sha256 to check against, so
	// the file is not linked.
	fileUnverified = "unverified"
	// fileUnreadable: the file exists but could not be read.
	fileUnreadable = "unreadable"
)

// verifyFile checks the file at path against out's recorded size and
// sha256. Only a regular file is read: a symbolic link, FIFO, device or
// directory at the path is reported and never opened for reading (as the
// planner's download check, which would fetch such a file again), and
// reading never goes past the recorded size: a file that grew is changed
// whatever it holds. The open itself neither follows a link nor blocks,
// in case the path is swapped between the look and the open. The second
// result says why a file is not fileOK, for the card.
func verifyFile(path string, out state.Output) (string, string) {
	before, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileMissing, "the file is missing"
	}
	if err != nil {
		return fileUnreadable, fmt.Sprintf("the file cannot be read: %v", err)
	}
	if !before.Mode().IsRegular() {
		return fileNotRegular, fmt.Sprintf("the path holds a %s, not the downloaded file", modeName(before.Mode()))
	}
	f, err := safefile.OpenNoBlock(path)
	if err != nil {
		return fileUnreadable, fmt.Sprintf("the file cannot be opened: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileUnreadable, fmt.Sprintf("the file cannot be read: %v", err)
	}
	if !fi.Mode().IsRegular() || !os.SameFile(before, fi) {
		return fileChanged, "the file was replaced while it was checked"
	}
	if out.Bytes > 0 && fi.Size() != out.Bytes {
		return fileChanged, fmt.Sprintf("the file is %d bytes, but %d were downloaded", fi.Size(), out.Bytes)
	}
	want := strings.TrimPrefix(out.SHA256, "sha256:")
	if want == "" {
		return fileUnverified, "the state records no sha256 for this file, so it cannot be checked"
	}
	h := sha256.New()
	limit := out.Bytes
	if limit <= 0 {
		limit = fi.Size()
	}
	n, err := io.Copy(h, io.LimitReader(f, limit+1))
	if err != nil {
		return fileUnreadable, fmt.Sprintf("the file cannot be read: %v", err)
	}
	if n > limit {
		return fileChanged, "the file grew while it was checked"
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fileChanged, fmt.Sprintf("its sha256 is %s, but the downloaded file's was %s", short(got), short(want))
	}
	return fileOK, ""
}

// outputPath is the file of out on disk: relative paths are under specDir.
func outputPath(specDir, file string) string {
	p := filepath.FromSlash(file)
	if !filepath.IsAbs(p) {
		p = filepath.Join(specDir, p)
	}
	return p
}

func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "…"
	}
	return digest
}
