package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xpflow/xpflow/internal/safefile"
	"github.com/xpflow/xpflow/internal/state"
)

// FileIntact reports whether out's file exists under dir as a regular file
// with its recorded size and sha256. Anything else at the path (a FIFO, a
// device, a symbolic link, say to /dev/zero, a directory) is not intact and
// is never opened, so plan and apply cannot hang on it; a file of another
// size is rejected without reading it, and reading stops at the recorded
// size.
func FileIntact(dir string, out state.Output) bool {
	if out.File == "" || out.SHA256 == "" {
		return false
	}
	path := filepath.Join(dir, filepath.FromSlash(out.File))
	before, err := os.Lstat(path)
	if err != nil || !before.Mode().IsRegular() {
		return false
	}
	if out.Bytes > 0 && before.Size() != out.Bytes {
		return false
	}
	// Not os.Open: the path may have become a FIFO since the Lstat, and
	// a blocking open of a FIFO with no writer never returns.
	f, err := safefile.OpenNoBlock(path)
	if err != nil {
		return false
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil || !after.Mode().IsRegular() || !os.SameFile(before, after) { // replaced between the two looks
		return false
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, after.Size()+1))
	if err != nil || n != after.Size() {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == strings.TrimPrefix(out.SHA256, "sha256:")
}
