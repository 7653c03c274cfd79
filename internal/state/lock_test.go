package state

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// helperEnv names the state file a re-executed test binary should hold
// locked; see TestHelperProcessHoldsLock.
const helperEnv = "XPFLOW_STATE_TEST_HOLD_LOCK"

func TestSecondOpenInSameProcessIsLocked(t *testing.T) {
	path := statePath(t)
	first := mustOpen(t, path, nil)
	host, _ := os.Hostname()

	second, err := Open(path)
	if second != nil {
		second.Close()
	}
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Open error = %v, want *LockedError", err)
	}
	got := LockedError{Path: locked.Path, PID: locked.PID, Host: locked.Host}
	want := LockedError{Path: path, PID: os.Getpid(), Host: host}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LockedError (-want +got):\n%s", diff)
	}
	if age := time.Since(locked.Started); locked.Started.IsZero() || age < -time.Second || age > time.Minute {
		t.Errorf("LockedError.Started = %v, want about now", locked.Started)
	}
	msg := err.Error()
	for _, part := range []string{path, strconv.Itoa(os.Getpid()), host, locked.Started.Format(time.RFC3339)} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not name %q", msg, part)
		}
	}

	// Load does not lock and still reads.
	if _, err := Load(path); err != nil {
		t.Errorf("Load while locked: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	third.Close()
}

func TestLockFileNamesHolder(t *testing.T) {
	path := statePath(t)
	mustOpen(t, path, nil)
	data, err := os.ReadFile(path + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	var info lockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatalf("lock file %q is not JSON: %v", data, err)
	}
	if info.PID != os.Getpid() || info.Host == "" || info.Started.IsZero() {
		t.Errorf("lock file = %+v, want our pid %d, a host and a start time", info, os.Getpid())
	}
}

func TestLockedErrorMessage(t *testing.T) {
	started := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := map[string]struct {
		err  LockedError
		want string
	}{
		"holder known": {
			err:  LockedError{Path: "a.state", PID: 42, Host: "box", Started: started},
			want: "state a.state is locked by pid 42 on host box since 2025-03-04T05:06:07Z",
		},
		"holder not yet recorded": {
			err:  LockedError{Path: "a.state"},
			want: "state a.state is locked by another process (holder unknown)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHelperProcessHoldsLock is not a test: run by TestOtherProcessHoldsLock
// with helperEnv set, it opens the store, prints "locked", and holds the
// lock until its stdin closes.
func TestHelperProcessHoldsLock(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stdout, "error:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stdout, "locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	s.Close()
	os.Exit(0)
}

func TestOtherProcessHoldsLock(t *testing.T) {
	path := statePath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessHoldsLock$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v; want \"locked\"", line, err)
	}

	start := time.Now()
	s, err := Open(path)
	elapsed := time.Since(start)
	if s != nil {
		s.Close()
	}
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("Open while another process holds the lock = %v, want *LockedError", err)
	}
	if locked.PID != cmd.Process.Pid {
		t.Errorf("LockedError.PID = %d, want the helper's pid %d", locked.PID, cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error %q does not name the helper's pid %d", err, cmd.Process.Pid)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Open took %v to fail, want it to fail at once", elapsed)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatalf("Open after the helper exited: %v", err)
	}
	s.Close()
}

// TestLockedErrorWaitsForTheHolderToRecordItself: the holder writes its
// record just after taking the lock, so a refusal may find the lock file
// empty (or truncated mid-write). The refusal reads it again between
// waits, and names the holder once it is there; with no record at all
// it gives up after holderReads reads.
func TestLockedErrorWaitsForTheHolderToRecordItself(t *testing.T) {
	record, err := json.Marshal(lockInfo{PID: 4242, Host: "h", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		writeAt   int // the wait during which the holder records itself; 0 never
		wantPID   int
		wantWaits int
	}{
		"recorded after two waits": {writeAt: 2, wantPID: 4242, wantWaits: 2},
		"never recorded":           {writeAt: 0, wantPID: 0, wantWaits: holderReads - 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lockPath := statePath(t) + ".lock"
			// Half a record, as between the holder's truncate and write.
			if err := os.WriteFile(lockPath, record[:len(record)/2], 0o600); err != nil {
				t.Fatal(err)
			}
			waits := 0
			e := lockedError(lockPath, "state.json", func(d time.Duration) {
				if d != holderWait {
					t.Errorf("waited %v, want %v", d, holderWait)
				}
				waits++
				if waits == tc.writeAt {
					if err := os.WriteFile(lockPath, record, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			})
			if e.PID != tc.wantPID || waits != tc.wantWaits {
				t.Errorf("PID %d after %d waits, want %d after %d", e.PID, waits, tc.wantPID, tc.wantWaits)
			}
			if tc.wantPID != 0 && e.Host != "h" {
				t.Errorf("host %q, want h", e.Host)
			}
		})
	}
}
