package state

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// putImage is an Edit function that records image addr as intent.
func putImage(addr string) func(*State) error {
	return func(st *State) error {
		st.Assets[addr] = &Asset{Address: addr, Kind: "image", RequestHash: "h-" + addr, Status: StatusIntent}
		return nil
	}
}

// filled opens a store at path holding fullState, written as a snapshot.
func filled(t *testing.T, path string) *Store {
	t.Helper()
	s := mustOpen(t, path, nil)
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	return s
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEditAppendsAndReadersSeeIt(t *testing.T) {
	path := statePath(t)
	s := filled(t, path)
	snapBefore := readFile(t, path)
	for i := range 3 {
		if err := s.Edit([]string{fmt.Sprint("image.i", i)}, putImage(fmt.Sprint("image.i", i))); err != nil {
			t.Fatalf("Edit %d: %v", i, err)
		}
	}
	checkBytes(t, path, string(snapBefore)) // Edit never rewrites the snapshot
	jdata := readFile(t, JournalPath(path))
	if got := bytes.Count(jdata, []byte("\n")); got != 3 {
		t.Errorf("journal has %d lines, want 3 records:\n%s", got, jdata)
	}
	want := s.Snapshot()
	if want.Serial != 4 || len(want.Assets) != len(fullState().Assets)+3 {
		t.Fatalf("after 3 edits: serial %d, %d assets", want.Serial, len(want.Assets))
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load with journal: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load = snapshot + journal (-want +got):\n%s", diff)
	}
	// Close compacts: the snapshot alone holds the state, the journal is gone.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	enc, _ := Encode(want)
	checkBytes(t, path, string(enc))
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal after Close: stat error %v, want it removed", err)
	}
}

func TestJournalPath(t *testing.T) {
	tests := map[string]string{
		"xpflow.state.json":    "xpflow.state.journal",
		"dir/x.state":          "dir/x.state.journal",
		"/abs/prod.state.json": "/abs/prod.state.journal",
	}
	for in, want := range tests {
		if got := JournalPath(in); got != want {
			t.Errorf("JournalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditChanges(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		addrs   []string
		fn      func(*State) error
		change  func(*State) // what the same change does to a full state
		wantErr string
	}{
		"put a new asset": {
			addrs: []string{"image.new"}, fn: putImage("image.new"),
			change: func(st *State) { _ = putImage("image.new")(st) },
		},
		"change a named asset": {
			addrs:  []string{"text.script"},
			fn:     func(st *State) error { st.Assets["text.script"].Error = "x"; return nil },
			change: func(st *State) { st.Assets["text.script"].Error = "x" },
		},
		"remove a named asset": {
			addrs:  []string{"text.script", "image.absent"},
			fn:     func(st *State) error { delete(st.Assets, "text.script"); return nil },
			change: func(st *State) { delete(st.Assets, "text.script") },
		},
		"latency and balance": {
			fn: func(st *State) error {
				st.Models["seedance-2.0/text-to-video"].Latency["8"].Add(9)
				st.Balance = &Balance{Cents: 7, At: at}
				return nil
			},
			change: func(st *State) {
				st.Models["seedance-2.0/text-to-video"].Latency["8"].Add(9)
				st.Balance = &Balance{Cents: 7, At: at}
			},
		},
		"fn error":       {fn: func(*State) error { return errors.New("boom") }, wantErr: "boom"},
		"lineage change": {fn: func(st *State) error { st.Lineage = "x"; return nil }, wantErr: "lineage"},
		"model removed": {
			fn:      func(st *State) error { st.Models = nil; return nil },
			wantErr: "cannot be removed",
		},
		"balance removed": {fn: func(st *State) error { st.Balance = nil; return nil }, wantErr: "balance cannot be removed"},
		"bad status": {
			addrs:   []string{"text.script"},
			fn:      func(st *State) error { st.Assets["text.script"].Status = "done"; return nil },
			wantErr: "unknown status",
		},
		"other assets are not visible": {
			fn: func(st *State) error {
				if len(st.Assets) != 0 {
					return fmt.Errorf("fn sees %d assets", len(st.Assets))
				}
				return nil
			},
			change: func(*State) {},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			s := filled(t, path)
			before := s.Snapshot()
			err := s.Edit(tc.addrs, tc.fn)
			want := before.Clone()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Edit error = %v, want %q", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Edit: %v", err)
				}
				tc.change(want)
				want.Serial++
			}
			if diff := cmp.Diff(want, s.Snapshot()); diff != "" {
				t.Errorf("state in memory (-want +got):\n%s", diff)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("state loaded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFirstEditWritesSnapshot(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path, nil)
	if err := s.Edit([]string{"image.a"}, putImage("image.a")); err != nil {
		t.Fatal(err)
	}
	st, err := Decode(readFile(t, path))
	if err != nil {
		t.Fatalf("snapshot after first Edit: %v", err)
	}
	if st.Serial != 1 || st.Assets["image.a"] == nil {
		t.Errorf("snapshot after first Edit: serial %d, assets %v; want serial 1 with image.a", st.Serial, st.Assets)
	}
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal after first Edit: stat error %v, want none yet", err)
	}
}

// journaled returns a state path whose snapshot holds fullState and whose
// journal holds n records putting image.j0 … image.j<n-1>, as left by a
// kill, with the state each prefix of the journal stands for.
func journaled(t *testing.T, n int) (path string, states []*State) {
	t.Helper()
	path = statePath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	states = append(states, s.Snapshot())
	for i := range n {
		addr := fmt.Sprint("image.j", i)
		if err := s.Edit([]string{addr}, putImage(addr)); err != nil {
			t.Fatal(err)
		}
		states = append(states, s.Snapshot())
	}
	// Simulate a kill: release the lock without compacting.
	if err := s.backend.Unlock(); err != nil {
		t.Fatal(err)
	}
	s.closed = true
	return path, states
}

func TestTornLastRecordIsDropped(t *testing.T) {
	path, states := journaled(t, 2)
	jpath := JournalPath(path)
	full := readFile(t, jpath)
	snap := readFile(t, path)
	first := bytes.IndexByte(full, '\n') + 1
	cuts := map[string][]byte{}
	for cut := first + 1; cut < len(full); cut++ {
		cuts[fmt.Sprintf("cut at %d of %d", cut, len(full))] = full[:cut]
	}
	flipped := bytes.Clone(full)
	flipped[len(flipped)-5] ^= 0x20
	cuts["checksum mismatch"] = flipped
	cuts["zeros after"] = append(bytes.Clone(full[:first]), make([]byte, 300)...)
	for name, data := range cuts {
		t.Run(name, func(t *testing.T) {
			writeRaw(t, path, string(snap))
			if err := os.WriteFile(jpath, data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(states[1], got); diff != "" {
				t.Fatalf("Load with a torn last record (-want +got):\n%s", diff)
			}
			checkBytes(t, jpath, string(data)) // readers never change it
			// A writer drops the torn bytes before appending.
			s := mustOpen(t, path, nil)
			if err := s.Edit([]string{"image.after"}, putImage("image.after")); err != nil {
				t.Fatal(err)
			}
			want := s.Snapshot()
			got, err = Load(path)
			if err != nil {
				t.Fatalf("Load after appending past a torn record: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Assets["image.j1"] != nil || got.Assets["image.after"] == nil {
				t.Errorf("assets %v: want image.j1 dropped and image.after kept", got.Assets)
			}
			s.Close()
		})
	}
}

func TestCorruptJournalIsAnError(t *testing.T) {
	path, states := journaled(t, 3)
	jpath := JournalPath(path)
	full := readFile(t, jpath)
	lines := bytes.SplitAfter(full, []byte("\n"))
	other := New()
	otherLine, _ := encodeRecord(&Record{Serial: states[0].Serial + 1, Lineage: other.Lineage})
	gapLine, _ := encodeRecord(&Record{Serial: states[0].Serial + 2, Lineage: states[0].Lineage})
	badJSON := []byte(`{"serial":5,"lineage":"x","bogus":1}`)
	badLine := fmt.Appendf(nil, "%d %08x %s\n", len(badJSON), crc(badJSON), badJSON)
	tests := map[string]struct {
		data    []byte
		wantErr string
	}{
		"flipped byte in the first record": {
			data:    append(append([]byte{}, flip(lines[0])...), bytes.Join(lines[1:], nil)...),
			wantErr: "damaged in the middle",
		},
		"record cut short in the middle": {
			data:    append(append([]byte{}, lines[0][:20]...), bytes.Join(lines[1:], nil)...),
			wantErr: "damaged in the middle",
		},
		"garbage line in the middle": {
			data:    append(append(append([]byte{}, lines[0]...), "hello\n"...), lines[1]...),
			wantErr: "damaged in the middle",
		},
		"another lineage":  {data: otherLine, wantErr: "lineage"},
		"missing a record": {data: gapLine, wantErr: "records are missing"},
		"unknown field":    {data: badLine, wantErr: "bogus"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(jpath, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			snap := readFile(t, path)
			got, err := Load(path)
			checkRefused(t, jpath, got, err, tc.wantErr)
			s, err := Open(path)
			if s != nil {
				s.Close()
			}
			checkRefused(t, jpath, s, err, tc.wantErr)
			checkBytes(t, jpath, string(tc.data))
			checkBytes(t, path, string(snap))
		})
	}
}

func crc(b []byte) uint32 {
	return crc32.Checksum(b, crcTable)
}

func flip(line []byte) []byte {
	c := bytes.Clone(line)
	c[len(c)/2] ^= 0x01
	return c
}

func TestJournalWithoutSnapshotIsAnError(t *testing.T) {
	path, _ := journaled(t, 1)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "is missing but its journal") {
		t.Fatalf("Load = %v, want an error about the missing state", err)
	}
}

func TestRecordsTheSnapshotIncludesAreSkipped(t *testing.T) {
	// A crash after compaction wrote the snapshot but before it emptied
	// the journal leaves records the snapshot already holds.
	path, states := journaled(t, 2)
	jpath := JournalPath(path)
	old := readFile(t, jpath)
	s := mustOpen(t, path, nil)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpath, old, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(states[2], got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// And a writer appends after them.
	s.Close()
	s = mustOpen(t, path, nil)
	if err := s.Edit([]string{"image.z"}, putImage("image.z")); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(path); err != nil || got.Assets["image.z"] == nil {
		t.Errorf("Load after appending = %v, %v; want image.z", got, err)
	}
}

func TestCompactsEveryBatch(t *testing.T) {
	tests := map[string]struct {
		minBatch, edits, newAssets int
		wantSnapSerial             uint64
		wantRecords                int
	}{
		// fullState has 4 assets: a batch is max(4, 4) = 4 records.
		"small state":  {minBatch: 4, edits: 9, wantSnapSerial: 1 + 8, wantRecords: 1},
		"no batch yet": {minBatch: 10, edits: 9, wantSnapSerial: 1, wantRecords: 9},
		// 7 assets: a batch is max(4, 7) = 7 records, so the cost of
		// rewriting the snapshot stays O(1) per record.
		"batch grows with the state": {minBatch: 4, edits: 9, newAssets: 3, wantSnapSerial: 2 + 7, wantRecords: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := statePath(t)
			s := filled(t, path)
			if tc.newAssets > 0 {
				if err := s.Update(func(st *State) error {
					for i := range tc.newAssets {
						_ = putImage(fmt.Sprint("image.n", i))(st)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			s.minBatch = tc.minBatch
			for i := range tc.edits {
				err := s.Edit([]string{"text.script"}, func(st *State) error {
					st.Assets["text.script"].Error = fmt.Sprint("edit ", i)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			snap, err := Decode(readFile(t, path))
			if err != nil {
				t.Fatal(err)
			}
			recs, _, err := parseJournal(readFile(t, JournalPath(path)))
			if err != nil {
				t.Fatal(err)
			}
			if snap.Serial != tc.wantSnapSerial || len(recs) != tc.wantRecords {
				t.Errorf("snapshot serial %d with %d journal records, want %d with %d",
					snap.Serial, len(recs), tc.wantSnapSerial, tc.wantRecords)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s.Snapshot(), got); diff != "" {
				t.Errorf("(-memory +loaded):\n%s", diff)
			}
		})
	}
}

func TestConcurrentEditsKeepEveryChange(t *testing.T) {
	path := statePath(t)
	s := filled(t, path)
	s.minBatch = 7
	var wg sync.WaitGroup
	const n = 64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprint("image.p", i)
			if err := s.Edit([]string{addr}, putImage(addr)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Snapshot(), got); diff != "" {
		t.Errorf("(-memory +loaded):\n%s", diff)
	}
	if len(got.Assets) != len(fullState().Assets)+n {
		t.Errorf("%d assets, want %d", len(got.Assets), len(fullState().Assets)+n)
	}
}

func TestEditCostDoesNotGrowWithTheState(t *testing.T) {
	recordBytes := func(assets int) int {
		path := statePath(t)
		s := filled(t, path)
		if err := s.Update(func(st *State) error {
			for i := range assets {
				_ = putImage(fmt.Sprint("image.b", i))(st)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Edit([]string{"image.b0"}, func(st *State) error {
			st.Assets["image.b0"].Status = StatusFailed
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return len(readFile(t, JournalPath(path)))
	}
	small, big := recordBytes(10), recordBytes(5000)
	if small != big {
		t.Errorf("one record is %d bytes with 10 assets and %d with 5000: want the same", small, big)
	}
}

func TestJournalLivesBesideTheRealFile(t *testing.T) {
	dir := t.TempDir()
	realDir := filepath.Join(dir, "real")
	if err := os.Mkdir(realDir, 0o700); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(realDir, "xpflow.state.json")
	link := filepath.Join(dir, "xpflow.state.json")
	if err := os.Symlink("real/xpflow.state.json", link); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, link, nil)
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := s.Edit([]string{"image.l"}, putImage("image.l")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(JournalPath(real)); err != nil {
		t.Errorf("journal beside the real file: %v", err)
	}
	if _, err := os.Lstat(JournalPath(link)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal beside the link: stat error %v, want none", err)
	}
	for _, p := range []string{link, real} {
		got, err := Load(p)
		if err != nil || got.Assets["image.l"] == nil {
			t.Errorf("Load(%s) = %v, %v; want the journaled image.l", p, got, err)
		}
	}
}

// gatedBackend wraps the file backend: AppendBatch records batch sizes,
// can wait on a gate, and can fail.
type gatedBackend struct {
	*fileBackend
	mu      sync.Mutex
	batches []int
	gate    chan struct{} // if set, the first AppendBatch waits for it
	fail    error
}

func (g *gatedBackend) AppendBatch(rs []*Record) error {
	g.mu.Lock()
	g.batches = append(g.batches, len(rs))
	gate, fail := g.gate, g.fail
	g.gate = nil
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		return fail
	}
	return g.fileBackend.AppendBatch(rs)
}

func openGated(t *testing.T, path string) (*Store, *gatedBackend) {
	t.Helper()
	g := &gatedBackend{fileBackend: newFileBackend(path, path, nil)}
	s, err := OpenBackend(path, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	return s, g
}

func TestConcurrentEditsShareOneAppend(t *testing.T) {
	path := statePath(t)
	s, g := openGated(t, path)
	gate := make(chan struct{})
	g.gate = gate
	first := make(chan error)
	go func() { first <- s.Edit([]string{"image.first"}, putImage("image.first")) }()
	// Wait until the first append is under way, then queue 10 more.
	for {
		g.mu.Lock()
		n := len(g.batches)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprint("image.q", i)
			if err := s.Edit([]string{addr}, putImage(addr)); err != nil {
				t.Error(err)
			}
		}()
	}
	for { // all 10 queued behind the first append
		s.mu.Lock()
		n := len(s.open.recs)
		s.mu.Unlock()
		if n == 10 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if diff := cmp.Diff([]int{1, 10}, g.batches); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Assets) != len(fullState().Assets)+11 {
		t.Errorf("%d assets loaded, want %d", len(got.Assets), len(fullState().Assets)+11)
	}
}

func TestFailedAppendStopsLaterWrites(t *testing.T) {
	path := statePath(t)
	s, g := openGated(t, path)
	before := readFile(t, path)
	g.fail = errors.New("EIO")
	err := s.Edit([]string{"image.x"}, putImage("image.x"))
	if err == nil || !strings.Contains(err.Error(), "EIO") {
		t.Fatalf("Edit = %v, want the append error", err)
	}
	g.fail = nil
	if err := s.Edit([]string{"image.y"}, putImage("image.y")); err == nil || !strings.Contains(err.Error(), "earlier write failed") {
		t.Errorf("Edit after a failed append = %v, want it refused", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkBytes(t, path, string(before)) // nothing that failed was compacted
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Assets["image.x"] != nil || got.Assets["image.y"] != nil {
		t.Errorf("assets after failed appends: %v; want neither image.x nor image.y", got.Assets)
	}
}

// compactFailing wraps the file backend with a Compact that fails once
// fail is set.
type compactFailing struct {
	*fileBackend
	fail bool
}

func (c *compactFailing) Compact(st *State) error {
	if c.fail {
		return errors.New("disk full")
	}
	return c.fileBackend.Compact(st)
}

// TestCloseReportsFailedCompaction: a final compaction that fails is
// returned by Close, saying that the journal keeps the changes, and a later
// Load indeed finds them.
func TestCloseReportsFailedCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xpflow.state.json")
	b := &compactFailing{fileBackend: newFileBackend(path, path, nil)}
	s, err := OpenBackend(path, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(fill); err != nil {
		t.Fatal(err)
	}
	b.fail = true
	if err := s.Edit([]string{"image.a"}, putImage("image.a")); err != nil {
		t.Fatal(err)
	}
	err = s.Close()
	if err == nil {
		t.Fatal("Close after a failed compaction returned nil")
	}
	for _, want := range []string{"disk full", path, "journal still holds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Close error %q does not mention %q", err, want)
		}
	}
	if _, err := os.Stat(JournalPath(path)); err != nil {
		t.Fatalf("journal after a failed compaction: %v", err)
	}
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Assets["image.a"]; !ok {
		t.Errorf("Load after a failed compaction lost image.a: %v", st.Assets)
	}
}
