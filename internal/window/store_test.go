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
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
			if _, err := DecodeFile(b); err != nil || len(b) == 0 {
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

// TestFileStoreSharesChangesIncrementally has two stores (two processes)
// take turns: each sees the other's additions, closings and closed-until,
// though each reads only what was appended since its last look.
func TestFileStoreSharesChangesIncrementally(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir)
	b, _ := openTest(t, dir)
	ctx := context.Background()
	look := func(s *FileStore) Ledger {
		t.Helper()
		var got Ledger
		if err := s.Update(ctx, func(l *Ledger) bool {
			l.Prune(at(5 * time.Second))
			got = Ledger{ClosedUntil: l.ClosedUntil, Entries: append([]Entry(nil), l.Entries...)}
			return false
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Update(ctx, func(l *Ledger) bool { l.Add("a", 1, at(0), true); return true }))
	if got := look(b); len(got.Entries) != 1 || !got.Entries[0].Open {
		t.Fatalf("b sees %+v, want a's open entry", got)
	}
	size1 := fileSize(t, a.Where())
	must(a.Update(ctx, func(l *Ledger) bool { l.CloseEntry("a", 1, at(2*time.Second)); return true }))
	must(b.Update(ctx, func(l *Ledger) bool {
		l.Add("b", 1, at(3*time.Second), false)
		l.Close(at(3*time.Second), at(9*time.Second))
		return true
	}))
	want := Ledger{ClosedUntil: at(9 * time.Second), Entries: []Entry{{Owner: "a", Seq: 1, At: at(2 * time.Second)}, {Owner: "b", Seq: 1, At: at(3 * time.Second)}}}
	for name, s := range map[string]*FileStore{"a": a, "b": b} {
		if diff := cmp.Diff(want, look(s), cmpopts.IgnoreUnexported(Ledger{})); diff != "" {
			t.Errorf("%s sees (-want +got):\n%s", name, diff)
		}
	}
	if size2 := fileSize(t, a.Where()); size2 <= size1 {
		t.Errorf("file went from %d to %d bytes, want changes appended", size1, size2)
	}
	fresh, _ := openTest(t, dir)
	if diff := cmp.Diff(want, look(fresh), cmpopts.IgnoreUnexported(Ledger{})); diff != "" {
		t.Errorf("a new store reads (-want +got):\n%s", diff)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// TestFileStoreCompacts runs far more grants than a window holds: the file
// is rewritten whole now and then, so it stays bounded, and another store
// reading along follows each rewrite.
func TestFileStoreCompacts(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir)
	b, _ := openTest(t, dir)
	ctx := context.Background()
	const grants, held = 6000, 100
	step := (Window + Grace) / held
	var maxSize int64
	for i := range grants {
		now := at(time.Duration(i) * step)
		if err := a.Update(ctx, func(l *Ledger) bool { l.Prune(now); l.Add("a", uint64(i+1), now, false); return true }); err != nil {
			t.Fatal(err)
		}
		maxSize = max(maxSize, fileSize(t, a.Where()))
		if i%7 == 0 {
			var n int
			if err := b.Update(ctx, func(l *Ledger) bool { l.Prune(now); n = len(l.Entries); return false }); err != nil {
				t.Fatal(err)
			}
			if n != min(i+1, held) {
				t.Fatalf("after %d grants b counts %d entries, want %d", i+1, n, min(i+1, held))
			}
		}
	}
	// A line is about 70 bytes: the file never holds much more than
	// 2*held+compactSlack of them.
	if limit := int64(80 * (2*held + compactSlack + 1)); maxSize > limit {
		t.Errorf("file grew to %d bytes, want at most %d (compaction)", maxSize, limit)
	}
	if a.records > 2*held+compactSlack+1 {
		t.Errorf("%d records after %d grants: never compacted", a.records, grants)
	}
}

// TestFileStoreDropsTornTail cuts the last line short, as a writer killed
// mid-append would: the line is dropped without a warning (its grant was
// never let go, so its request was never sent) and the file goes on.
func TestFileStoreDropsTornTail(t *testing.T) {
	dir := t.TempDir()
	a, warnings := openTest(t, dir)
	ctx := context.Background()
	if err := a.Update(ctx, func(l *Ledger) bool { l.Add("a", 1, at(0), false); return true }); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(a.Where(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"owner":"dead","seq":1,"at":17`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := openTest(t, dir)
	if err := b.Update(ctx, func(l *Ledger) bool { l.Add("b", 1, at(time.Second), false); return true }); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(a.Where())
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFile(data)
	if err != nil {
		t.Fatalf("file after a torn tail: %v\n%s", err, data)
	}
	var owners []string
	for _, e := range got.Entries {
		owners = append(owners, e.Owner)
	}
	if diff := cmp.Diff([]string{"a", "b"}, owners); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings = %q, want none for a torn tail", *warnings)
	}
}
