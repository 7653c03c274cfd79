package window

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestPrune(t *testing.T) {
	tests := map[string]struct {
		in          Ledger
		now         time.Time
		want        Ledger
		wantChanged bool
	}{
		"keeps entries inside the window and grace": {
			in:   Ledger{Entries: []Entry{{Owner: "a", At: at(0)}, {Owner: "b", At: at(30 * time.Second)}}},
			now:  at(Window + Grace - time.Nanosecond),
			want: Ledger{Entries: []Entry{{Owner: "a", At: at(0)}, {Owner: "b", At: at(30 * time.Second)}}},
		},
		"drops entries that left": {
			in:          Ledger{Entries: []Entry{{Owner: "a", At: at(0)}, {Owner: "b", At: at(30 * time.Second)}}},
			now:         at(Window + Grace),
			want:        Ledger{Entries: []Entry{{Owner: "b", At: at(30 * time.Second)}}},
			wantChanged: true,
		},
		"clock jumped back: future entries are dated now": {
			in:          Ledger{Entries: []Entry{{Owner: "a", At: at(time.Hour)}}},
			now:         at(0),
			want:        Ledger{Entries: []Entry{{Owner: "a", At: at(0)}}},
			wantChanged: true,
		},
		"clock jumped forward: everything is gone": {
			in:          Ledger{ClosedUntil: at(20 * time.Second), Entries: []Entry{{Owner: "a", At: at(0)}, {Owner: "b", At: at(10 * time.Second)}}},
			now:         at(24 * time.Hour),
			want:        Ledger{Entries: []Entry{}},
			wantChanged: true,
		},
		"closed until passed is cleared": {
			in:          Ledger{ClosedUntil: at(5 * time.Second)},
			now:         at(5 * time.Second),
			want:        Ledger{},
			wantChanged: true,
		},
		"closed until beyond a window is cut to one window": {
			in:          Ledger{ClosedUntil: at(time.Hour)},
			now:         at(0),
			want:        Ledger{ClosedUntil: at(Window)},
			wantChanged: true,
		},
		"pending closed until stays": {
			in:   Ledger{ClosedUntil: at(10 * time.Second)},
			now:  at(0),
			want: Ledger{ClosedUntil: at(10 * time.Second)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := tc.in
			got.Entries = append([]Entry(nil), tc.in.Entries...)
			changed := got.Prune(tc.now)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b []Entry) bool { return cmp.Equal(norm(a), norm(b)) }),
				cmpopts.IgnoreUnexported(Ledger{})); diff != "" {
				t.Errorf("Prune (-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("Prune changed = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
}

func norm(e []Entry) []Entry {
	if len(e) == 0 {
		return nil
	}
	return e
}

func TestPruneBoundsEntries(t *testing.T) {
	var l Ledger
	for i := range MaxEntries + 10 {
		l.Add("a", uint64(i), at(time.Duration(i)*time.Millisecond), false)
	}
	if !l.Prune(at(time.Minute)) {
		t.Fatal("Prune over MaxEntries reported no change")
	}
	if len(l.Entries) != keepEntries {
		t.Fatalf("len = %d, want %d", len(l.Entries), keepEntries)
	}
	if got, want := l.Entries[0].At, at(time.Duration(MaxEntries+10-keepEntries)*time.Millisecond); !got.Equal(want) {
		t.Errorf("oldest kept = %v, want %v (the oldest go first)", got, want)
	}
}

func TestClose(t *testing.T) {
	var l Ledger
	l.Close(at(0), at(10*time.Second))
	l.Close(at(0), at(5*time.Second)) // never shortens
	if !l.ClosedUntil.Equal(at(10 * time.Second)) {
		t.Errorf("ClosedUntil = %v, want t0+10s", l.ClosedUntil)
	}
	l.Close(at(0), at(time.Hour)) // capped at one window
	if !l.ClosedUntil.Equal(at(Window)) {
		t.Errorf("ClosedUntil = %v, want t0+%s", l.ClosedUntil, Window)
	}
}

func TestOthersAndCount(t *testing.T) {
	l := Ledger{Entries: []Entry{{Owner: "me", At: at(0)}, {Owner: "b", At: at(20 * time.Second)}, {Owner: "c", At: at(10 * time.Second)}}}
	want := []time.Time{at(10*time.Second + Window + Grace), at(20*time.Second + Window + Grace)}
	ends, open := l.Others("me")
	if diff := cmp.Diff(want, ends); diff != "" || open {
		t.Errorf("Others open = %v (-want +got):\n%s", open, diff)
	}
	// An open entry stays until closed, at most OpenMax; closing dates it
	// from the answer.
	l.Add("c", 9, at(30*time.Second), true)
	ends, open = l.Others("me")
	if !open || !ends[2].Equal(at(30*time.Second+OpenMax)) {
		t.Errorf("Others with an open entry = %v, %v; want it last, ending at t0+30s+%s", ends, open, OpenMax)
	}
	if !l.CloseEntry("c", 9, at(35*time.Second)) || l.CloseEntry("c", 9, at(36*time.Second)) {
		t.Error("CloseEntry closes an open entry once")
	}
	ends, open = l.Others("me")
	if open || !ends[2].Equal(at(35*time.Second+Window+Grace)) {
		t.Errorf("Others after closing = %v, %v; want the entry dated from its answer", ends, open)
	}
	own, others := l.Count("me")
	if own != 1 || others != 3 {
		t.Errorf("Count = %d, %d; want 1, 3", own, others)
	}
}

// TestDeadProcessBlocksNoLongerThanTheWindow: the open entries of a
// process killed mid-request are never closed; they must stop counting
// one window after their grant, as the server stops counting their
// requests then, so that they never hold a command for longer than the
// window itself.
func TestDeadProcessBlocksNoLongerThanTheWindow(t *testing.T) {
	var l Ledger
	for i := range 30 {
		l.Add("dead", uint64(i+1), at(0), true)
	}
	if l.Prune(at(Window - time.Nanosecond)); len(l.Entries) != 30 {
		t.Fatalf("%d entries just before the window ends, want 30: a request in flight counts", len(l.Entries))
	}
	l.Prune(at(Window))
	if ends, open := l.Others("me"); len(ends) != 0 || open || len(l.Entries) != 0 {
		t.Errorf("one window after their grant, the dead process's entries still count: %v (open %v)", ends, open)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	l := Ledger{ClosedUntil: at(7 * time.Second), Entries: []Entry{{Owner: "a1", At: at(0)}, {Owner: "b2", Seq: 3, At: at(time.Second), Open: true}}}
	got, err := Decode(l.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }), cmpopts.IgnoreUnexported(Ledger{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	empty, err := Decode(nil)
	if err != nil || len(empty.Entries) != 0 || !empty.ClosedUntil.IsZero() {
		t.Errorf("Decode(empty) = %+v, %v; want an empty ledger", empty, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
	}{
		"truncated":     {`{"version":1,"entries":[{"owner":"a","at":1`, "unexpected end"},
		"not json":      {"\x00\x01garbage", "invalid character"},
		"wrong version": {`{"version":2,"entries":[]}`, "version 2"},
		"no version":    {`{"entries":[]}`, "version 0"},
		"empty owner":   {`{"version":1,"entries":[{"owner":"","at":5}]}`, "bad entry"},
		"zero time":     {`{"version":1,"entries":[{"owner":"a","at":0}]}`, "bad entry"},
		"long owner":    {`{"version":1,"entries":[{"owner":"` + strings.Repeat("x", 65) + `","at":5}]}`, "bad entry"},
		"wrong type":    {`{"version":1,"entries":{"owner":"a"}}`, "cannot unmarshal"},
		"null":          {`null`, "version 0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error = %q, want it to mention %q", err, tc.want)
			}
		})
	}
}
