package window

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// holdEnv makes the test binary a process that takes a ledger lock, says
// "locked" and waits to be killed; see TestMain.
const holdEnv = "XPFLOW_WINDOW_TEST_HOLD"

func TestMain(m *testing.M) {
	if p := os.Getenv(holdEnv); p != "" {
		fl := flock.New(p)
		if err := fl.Lock(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
	}
	os.Exit(m.Run())
}

func openTest(t *testing.T, dir string) (*FileStore, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var warnings []string
	s, err := OpenFile(dir, Name("http://127.0.0.1:1", "xp_k"), func(w string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, w)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, &warnings
}

func TestFileStoreKeepsLedger(t *testing.T) {
	dir := t.TempDir()
	s, warnings := openTest(t, dir)
	ctx := context.Background()
	if err := s.Update(ctx, func(l *Ledger) bool { l.Add("a", 1, at(0), false); l.Close(at(0), at(3*time.Second)); return true }); err != nil {
		t.Fatal(err)
	}
	var got Ledger
	if err := s.Update(ctx, func(l *Ledger) bool { got = *l; return false }); err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 1 || got.Entries[0].Owner != "a" || !got.ClosedUntil.Equal(at(3*time.Second)) {
		t.Errorf("ledger = %+v, want one entry of a and closed until t0+3s", got)
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings = %q, want none", *warnings)
	}
	info, err := os.Stat(s.Where())
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		t.Errorf("ledger mode = %v, want private", mode)
	}
}

func TestFileStoreRebuildsCorruptLedger(t *testing.T) {
	for name, content := range map[string]string{
		"truncated": `{"version":1,"closed_until":0,"entries":[{"owner":"ab","at":17`,
		"garbage":   "\xff\xfe not a ledger",
		"future":    `{"version":9}`,
	} {
		t.Run(name, func(t *testing.T) {
			s, warnings := openTest(t, t.TempDir())
			if err := os.WriteFile(s.Where(), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var seen int
			err := s.Update(context.Background(), func(l *Ledger) bool { seen = len(l.Entries); return false })
			if err != nil {
				t.Fatalf("Update = %v, want the ledger rebuilt", err)
			}
			if seen != 0 {
				t.Errorf("rebuilt ledger has %d entries, want 0", seen)
			}
			if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "unreadable") || !strings.Contains((*warnings)[0], s.Where()) {
				t.Errorf("warnings = %q, want one naming the file", *warnings)
			}
			b, err := os.ReadFile(s.Where())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(b); err != nil {
				t.Errorf("the ledger was not rewritten: %v", err)
			}
		})
	}
}

// TestFileStoreExcludes runs read-modify-write cycles from many stores at
// once (each Update opens its own lock, as another process would): none is
// lost.
func TestFileStoreExcludes(t *testing.T) {
	dir := t.TempDir()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		s, _ := openTest(t, dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.Update(context.Background(), func(l *Ledger) bool {
					l.Add(fmt.Sprintf("w%d", w), uint64(i), time.Now().Add(time.Duration(i)), false)
					return true
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s, _ := openTest(t, dir)
	var n int
	if err := s.Update(context.Background(), func(l *Ledger) bool { n = len(l.Entries); return false }); err != nil {
		t.Fatal(err)
	}
	if n != workers*each {
		t.Errorf("entries = %d, want %d: an update was lost", n, workers*each)
	}
}

// TestKilledHolderReleasesLock kills -9 a process holding the ledger lock:
// the next Update proceeds without waiting for LockTimeout.
func TestKilledHolderReleasesLock(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+s.lock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}
	// While the holder lives, the lock is busy.
	busy, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Update(busy, func(*Ledger) bool { return false }); err == nil {
		t.Fatal("Update succeeded while another process held the lock")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// A context shorter than LockTimeout: "at once" means this does not
	// time out.
	quick, cancel2 := context.WithTimeout(context.Background(), LockTimeout/2)
	defer cancel2()
	if err := s.Update(quick, func(l *Ledger) bool { l.Add("next", 1, time.Now(), false); return true }); err != nil {
		t.Fatalf("Update after the holder was killed: %v", err)
	}
}

func TestNameHidesKey(t *testing.T) {
	key := "xp_SECRET_key_123"
	n := Name("https://xpilot.jytech.us", key)
	if strings.Contains(n, key) || strings.Contains(n, "xpilot") {
		t.Errorf("name %q shows the key or the host", n)
	}
	if Name("https://xpilot.jytech.us/", key) != n {
		t.Error("a trailing slash on the base URL changes the ledger")
	}
	for _, other := range []string{Name("https://xpilot.jytech.us", key+"x"), Name("http://127.0.0.1:8080", key)} {
		if other == n {
			t.Errorf("two keys or services share the ledger %s", n)
		}
	}
}

func TestDir(t *testing.T) {
	got, err := Dir(func(k string) string {
		if k == EnvCacheDir {
			return "/tmp/xp-cache"
		}
		return ""
	})
	if err != nil || got != "/tmp/xp-cache" {
		t.Errorf("Dir with %s = %q, %v", EnvCacheDir, got, err)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache directory on this machine")
	}
	got, err = Dir(func(string) string { return "" })
	if err != nil || got != filepath.Join(base, "xpflow") {
		t.Errorf("Dir = %q, %v; want %s", got, err, filepath.Join(base, "xpflow"))
	}
}

func TestOpenRemovesStaleLedgers(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	files := map[string]bool{ // name: should survive
		"window-aaaa.json":    false,
		"window-aaaa.lock":    false,
		".window-123.tmp":     false,
		"window-bbbb.json":    true, // recent
		"notes.txt":           true, // not ours
		Name("http://x", "k"): true, // the one being opened, however old
	}
	for n, keep := range files {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if !keep || n == "notes.txt" || strings.HasPrefix(n, "window-") && n != "window-bbbb.json" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := OpenFile(dir, Name("http://x", "k"), nil); err != nil {
		t.Fatal(err)
	}
	for n, keep := range files {
		_, err := os.Stat(filepath.Join(dir, n))
		if exists := err == nil; exists != keep {
			t.Errorf("%s exists = %v, want %v", n, exists, keep)
		}
	}
}
