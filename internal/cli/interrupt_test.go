package cli

import (
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInterruptAtConfirmationExitsAtOnce: before anything is submitted an
// interrupt must end apply at once, not wait for execution to start.
func TestInterruptAtConfirmationExitsAtOnce(t *testing.T) {
	dir := quickDir(t)
	stdinR, stdinW := io.Pipe() // the user never answers
	var out, errb syncBuffer
	sigs := make(chan os.Signal, 1)
	var mu sync.Mutex
	exitCode := -1
	env := &Env{Stdin: stdinR, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Signals: sigs, StdinIsTerminal: true,
		Exit: func(code int) {
			mu.Lock()
			exitCode = code
			mu.Unlock()
			stdinW.Close() // a real process would be gone; end the prompt
		}}
	done := make(chan int, 1)
	go func() { done <- Main(env, []string{"apply", "-simulate", dir}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Enter a value") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // waiting on another goroutine's output, not timing logic
	}
	sigs <- os.Interrupt
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("apply did not end after an interrupt at the prompt")
	}
	mu.Lock()
	defer mu.Unlock()
	if exitCode != ExitInterrupted || !strings.Contains(errb.String(), "Interrupted before anything was submitted") {
		t.Errorf("exit %d, stderr %q; want 130 and the interrupted message", exitCode, errb.String())
	}
	if strings.Contains(out.String(), "submitting") {
		t.Errorf("something was submitted after the interrupt:\n%s", out.String())
	}
}
