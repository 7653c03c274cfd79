// Package testbin builds the xpflow binary once for tests that must run it
// as a separate process (signals, SIGKILL, the state lock). Main is the
// entry point, called from a test package's TestMain.
package testbin

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Main builds github.com/xpflow/xpflow/cmd/xpflow into a temp directory,
// stores its path in *binary, runs the tests and returns their exit code.
func Main(m *testing.M, binary *string) int {
	dir, err := os.MkdirTemp("", "xpflow-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*binary = filepath.Join(dir, "xpflow")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(goTool, "build", "-o", *binary, "github.com/xpflow/xpflow/cmd/xpflow")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Output is a bytes.Buffer safe to read while a process writes it: give
// it to exec.Cmd as Stdout or Stderr and call String at any time.
type Output struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
