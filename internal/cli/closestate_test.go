package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/state"
)

// memBackend is a state.Backend in memory whose Compact fails once
// failCompact is set.
type memBackend struct {
	snap        *state.State
	failCompact bool
}

func (m *memBackend) Lock() error                      { return nil }
func (m *memBackend) Unlock() error                    { return nil }
func (m *memBackend) Load() (*state.State, int, error) { return state.New(), 0, nil }
func (m *memBackend) Append(*state.Record) error       { return nil }
func (m *memBackend) Compact(st *state.State) error {
	if m.failCompact {
		return errors.New("disk full")
	}
	m.snap = st
	return nil
}

// TestCloseStateReportsFailedCompaction: apply's final compaction failing
// is the command's error when the run succeeded, and is printed beside the
// run's own error otherwise.
func TestCloseStateReportsFailedCompaction(t *testing.T) {
	runFailed := &ExitErr{Code: ExitInterrupted, Err: errors.New("interrupted")}
	tests := map[string]struct {
		runErr     error
		fail       bool
		wantCode   int
		wantStderr bool
	}{
		"all well":                       {wantCode: ExitOK},
		"compaction fails":               {fail: true, wantCode: ExitError},
		"run fails":                      {runErr: runFailed, wantCode: ExitInterrupted},
		"run and compaction both failed": {runErr: runFailed, fail: true, wantCode: ExitInterrupted, wantStderr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := &memBackend{}
			store, err := state.OpenBackend("campaign state", b)
			if err != nil {
				t.Fatal(err)
			}
			put := func(st *state.State) error {
				st.Assets["image.a"] = &state.Asset{Address: "image.a", Kind: "image", RequestHash: "h", Status: state.StatusIntent}
				return nil
			}
			if err := store.Edit([]string{"image.a"}, put); err != nil { // the first write is a snapshot
				t.Fatal(err)
			}
			b.failCompact = tc.fail
			if err := store.Edit([]string{"image.a"}, put); err != nil { // the journal's
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			got := closeState(&Env{Stderr: &stderr}, tc.runErr, store)
			if code := exitCode(&Env{Stderr: &stderr}, got); code != tc.wantCode {
				t.Errorf("exit code = %d, want %d (err %v)", code, tc.wantCode, got)
			}
			if said := strings.Contains(stderr.String(), "journal still holds"); said != tc.fail {
				t.Errorf("stderr = %q; mentions the journal: %v, want %v", stderr.String(), said, tc.fail)
			}
			if tc.wantStderr && !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr = %q, want the run's own error too", stderr.String())
			}
		})
	}
}
