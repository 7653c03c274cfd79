package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func statePath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "xpflow.state")
}

func mustOpen(t *testing.T, path string, hooks *writeHooks) *Store {
	t.Helper()
	s, err := openStore(path, hooks)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill copies the content of fullState into st, keeping its lineage.
func fill(st *State) error {
	full := fullState()
	st.Assets, st.Models, st.Balance = full.Assets, full.Models, full.Balance
	return nil
}

func TestUpdateWritesWhatLoadReads(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path, nil)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open wrote %s before any Update (stat error %v)", path, err)
	}
	if err := s.Update(fill); err != nil {
		t.Fatalf("Update: %v", err)
	}
	snap := s.Snapshot()
	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(snap, loaded); diff != "" {
		t.Errorf("Load after Update differs from Snapshot (-snapshot +loaded):\n%s", diff)
	}
	want := fullState()
	want.Serial, want.Lineage = 1, snap.Lineage
	if diff := cmp.Diff(want, loaded); diff != "" {
		t.Errorf("loaded state (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := Encode(snap)
	if diff := cmp.Diff(string(enc), string(data)); diff != "" {
		t.Errorf("file is not Encode(state) (-want +got):\n%s", diff)
	}
}

func TestSerialIncrementsAndLineageIsKept(t *testing.T) {
	tests := map[string]struct {
		updates    int
		reopenEach bool
	}{
		"one update":                {updates: 1},
		"five updates":              {updates: 5},
		"five updates over reopens": {updates: 5, reopenEach: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			s := mustOpen(t, path, nil)
			lineage := s.Snapshot().Lineage
			for i := range tc.updates {
				err := s.Update(func(st *State) error {
					st.Serial = 1000 // ignored: the store owns the serial
					addr := fmt.Sprintf("image.i%d", i)
					st.Assets[addr] = &Asset{Address: addr, Kind: "image", Status: StatusIntent}
					return nil
				})
				if err != nil {
					t.Fatalf("Update %d: %v", i, err)
				}
				if tc.reopenEach {
					s.Close()
					s = mustOpen(t, path, nil)
				}
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Serial != uint64(tc.updates) {
				t.Errorf("serial after %d updates = %d, want %d", tc.updates, got.Serial, tc.updates)
			}
			if got.Lineage != lineage {
				t.Errorf("lineage = %q, want %q (set at creation)", got.Lineage, lineage)
			}
			if len(got.Assets) != tc.updates {
				t.Errorf("got %d assets, want %d", len(got.Assets), tc.updates)
			}
		})
	}
}

func TestRefusedUpdateLeavesEverythingUntouched(t *testing.T) {
	errBoom := errors.New("boom")
	tests := map[string]struct {
		fn      func(*State) error
		wantErr string
	}{
		"fn error": {fn: func(st *State) error {
			st.Assets["image.x"] = &Asset{Address: "image.x", Status: StatusIntent}
			st.Balance.Cents = 0
			return errBoom
		}, wantErr: "boom"},
		"lineage changed": {fn: func(st *State) error { st.Lineage = "other"; return nil }, wantErr: "lineage"},
		"version changed": {fn: func(st *State) error { st.Version = 2; return nil }, wantErr: "version"},
		"null asset":      {fn: func(st *State) error { st.Assets["image.x"] = nil; return nil }, wantErr: `asset "image.x" is null`},
		"bad status": {fn: func(st *State) error {
			st.Assets["text.script"].Status = "done"
			return nil
		}, wantErr: "unknown status"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			s := mustOpen(t, path, nil)
			if err := s.Update(fill); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			snapBefore := s.Snapshot()
			err := s.Update(tc.fn)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Update error = %v, want one containing %q", err, tc.wantErr)
			}
			checkBytes(t, path, string(before))
			if diff := cmp.Diff(snapBefore, s.Snapshot()); diff != "" {
				t.Errorf("in-memory state changed (-before +after):\n%s", diff)
			}
			checkOnlyStateFiles(t, path)
		})
	}
	t.Run("fn error is returned as is", func(t *testing.T) {
		s := mustOpen(t, statePath(t), nil)
		if err := s.Update(func(*State) error { return errBoom }); !errors.Is(err, errBoom) {
			t.Errorf("Update error = %v, want errBoom", err)
		}
	})
}

func TestWriteFailureRollsBack(t *testing.T) {
	tests := map[string]struct {
		hooks       func(fail *bool) *writeHooks
		wantErr     string
		wantApplied bool // the change is on disk despite the error
	}{
		"write fails after temp file": {
			hooks: func(fail *bool) *writeHooks {
				return &writeHooks{afterTemp: func(string) error {
					if *fail {
						return errors.New("disk full")
					}
					return nil
				}}
			},
			wantErr: "disk full",
		},
		"directory sync fails after rename": {
			hooks: func(fail *bool) *writeHooks {
				return &writeHooks{syncDir: func(string) error {
					if *fail {
						return errors.New("EIO")
					}
					return nil
				}}
			},
			wantErr:     "EIO",
			wantApplied: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			fail := false
			s := mustOpen(t, path, tc.hooks(&fail))
			if err := s.Update(fill); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			snapBefore := s.Snapshot()
			fail = true
			err := s.Update(func(st *State) error { st.Balance.Cents = 1; return nil })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Update error = %v, want one naming %s and %q", err, path, tc.wantErr)
			}
			want := snapBefore
			if tc.wantApplied {
				want = snapBefore.Clone()
				want.Serial++
				want.Balance.Cents = 1
			}
			if diff := cmp.Diff(want, s.Snapshot()); diff != "" {
				t.Errorf("in-memory state after failed write (-want +got):\n%s", diff)
			}
			onDisk, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, onDisk); diff != "" {
				t.Errorf("state on disk after failed write (-want +got):\n%s", diff)
			}
			if !tc.wantApplied {
				checkBytes(t, path, string(before))
			}
			checkOnlyStateFiles(t, path)
			fail = false
			if err := s.Update(func(st *State) error { return nil }); err != nil {
				t.Fatalf("Update after recovery: %v", err)
			}
			if got := s.Snapshot().Serial; got != want.Serial+1 {
				t.Errorf("serial after recovery = %d, want %d", got, want.Serial+1)
			}
		})
	}
}

func TestStateFileMode(t *testing.T) {
	tests := map[string]struct {
		existing os.FileMode // 0: no file before
	}{
		"new file":           {},
		"existing 0644 file": {existing: 0o644},
		"existing 0666 file": {existing: 0o666},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			if tc.existing != 0 {
				data, _ := Encode(New())
				if err := os.WriteFile(path, data, tc.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			s := mustOpen(t, path, nil)
			if err := s.Update(fill); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("state file mode = %v, want 0600", got)
			}
		})
	}
}

func TestTempFileIsInTheSameDirectoryAndRemoved(t *testing.T) {
	path := statePath(t)
	var temps []string
	s := mustOpen(t, path, &writeHooks{afterTemp: func(tmp string) error {
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("temporary file %s does not exist: %v", tmp, err)
		}
		temps = append(temps, tmp)
		return nil
	}})
	for range 3 {
		if err := s.Update(fill); err != nil {
			t.Fatal(err)
		}
	}
	if len(temps) != 3 {
		t.Fatalf("saw %d temporary files, want 3", len(temps))
	}
	for _, tmp := range temps {
		if got, want := filepath.Dir(tmp), filepath.Dir(path); got != want {
			t.Errorf("temporary file in %s, want %s (same file system as the state)", got, want)
		}
	}
	checkOnlyStateFiles(t, path)
}

// checkOnlyStateFiles fails unless the state's directory holds nothing but
// the state file (if written) and its lock file.
func checkOnlyStateFiles(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	base := filepath.Base(path)
	want := []string{base, base + ".lock"}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		want = want[1:]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files next to the state (-want +got):\n%s", diff)
	}
}

func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	const goroutines, each = 16, 8
	path := statePath(t)
	s := mustOpen(t, path, nil)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				addr := fmt.Sprintf("image.g%02d_%02d", g, i)
				err := s.Update(func(st *State) error {
					st.Assets[addr] = &Asset{Address: addr, Kind: "image", Status: StatusCompleted}
					if st.Models == nil {
						st.Models = map[string]*ModelStats{}
					}
					m := st.Models["m"]
					if m == nil {
						m = &ModelStats{Latency: map[string]*Samples{"": {}}}
						st.Models["m"] = m
					}
					m.Latency[""].Add(1)
					return nil
				})
				if err != nil {
					t.Errorf("Update %s: %v", addr, err)
				}
				_ = s.Snapshot()
			}
		})
	}
	wg.Wait()
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for g := range goroutines {
		for i := range each {
			addrs = append(addrs, fmt.Sprintf("image.g%02d_%02d", g, i))
		}
	}
	gotAddrs := slices.Sorted(func(yield func(string) bool) {
		for a := range got.Assets {
			if !yield(a) {
				return
			}
		}
	})
	if diff := cmp.Diff(addrs, gotAddrs); diff != "" {
		t.Errorf("assets after concurrent updates (-want +got):\n%s", diff)
	}
	if want := uint64(goroutines * each); got.Serial != want {
		t.Errorf("serial = %d, want %d", got.Serial, want)
	}
	if n, want := len(got.Models["m"].Latency[""].Seconds), min(goroutines*each, MaxSamples); n != want {
		t.Errorf("latency samples = %d, want %d", n, want)
	}
}

func TestClose(t *testing.T) {
	path := statePath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := s.Update(fill); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if got := s.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	checkOnlyStateFiles(t, path)
	lock, err := os.ReadFile(path + ".lock")
	if err != nil || len(lock) != 0 {
		t.Errorf("lock file after Close = %q, %v; want it empty, naming no holder", lock, err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer s2.Close()
	if got := s2.Snapshot().Serial; got != 1 {
		t.Errorf("reopened serial = %d, want 1", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	tests := map[string]struct {
		existing string // "" means no file
		perm     os.FileMode
		relative bool
	}{
		"new file":         {perm: 0o600},
		"replace existing": {existing: "old content that is longer", perm: 0o640},
		"relative path":    {existing: "old", perm: 0o600, relative: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.json")
			if tc.existing != "" {
				writeRaw(t, path, tc.existing)
			}
			target := path
			if tc.relative {
				t.Chdir(dir)
				target = "f.json"
			}
			if err := WriteFileAtomic(target, []byte("new"), tc.perm); err != nil {
				t.Fatalf("WriteFileAtomic: %v", err)
			}
			checkBytes(t, path, "new")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tc.perm {
				t.Errorf("mode = %v, want %v", got, tc.perm)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only f.json", len(entries))
			}
		})
	}
}

func TestWriteFileAtomicMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "f.json")
	err := WriteFileAtomic(path, []byte("x"), 0o600)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteFileAtomic into a missing directory = %v, want an error naming %s", err, path)
	}
}
