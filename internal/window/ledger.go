package window

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Window is the span over which the API counts the requests of a key.
const Window = time.Minute

// Grace is added to the end of a closed entry: the server dates a request on
// arrival, and a caller of Limiter.Wait sends a little after its grant.
const Grace = time.Second

// OpenMax bounds how long an open entry (a request whose answer has not come
// back) stays in the window, dated from its grant: the server counts a
// request from its arrival, right after the grant, for one window, so an
// open entry older than that counts there no more. A process killed
// mid-request never closes its entries; they stop holding anyone one
// window after their grant, never longer.
const OpenMax = Window

// MaxEntries bounds a ledger; the oldest entries go first beyond it. No
// limit a key can hold in practice comes near it (the API allows 30 a
// minute); it bounds what a hostile or runaway ledger costs.
const MaxEntries = 4096

// keepEntries is what Prune keeps of a ledger that grew beyond MaxEntries.
const keepEntries = MaxEntries - MaxEntries/4

// maxOwner bounds an owner token; longer ones are dropped as corrupt.
const maxOwner = 64

// version is the ledger format version.
const version = 1

// Entry is one request counted in the window.
type Entry struct {
	// Owner is the random token of the process that sent the request.
	Owner string
	// Seq numbers the owner's entries, so that it can close them.
	Seq uint64
	// At is when the request was granted a slot, or, once closed, when its
	// answer came back.
	At time.Time
	// Open is true while the request is in flight.
	Open bool
}

// End is when e leaves the window: Window (and Grace) after its answer, or
// OpenMax after its grant while no answer has come back.
func (e Entry) End() time.Time {
	if e.Open {
		return e.At.Add(OpenMax)
	}
	return e.At.Add(Window + Grace)
}

// Ledger is the shared window of one key. The zero value is an empty,
// open ledger.
type Ledger struct {
	// ClosedUntil is when a 429 said the key may send again; zero when no
	// 429 is pending.
	ClosedUntil time.Time
	// Entries are the requests in the window, in the order they were
	// added. Change them through Add and CloseEntry only: a store that
	// appends changes (FileStore) saves what those methods record.
	Entries []Entry

	// log records Add, CloseEntry and Close since the store last saved
	// the ledger; Prune is not recorded, since every reader prunes by its
	// own clock.
	log []record
}

// record is one change of a ledger, as a FileStore appends it.
type record struct {
	kind  byte // recAdd, recClose or recClosedUntil
	owner string
	seq   uint64
	at    int64 // unix ns
	open  bool  // recAdd only
}

const (
	recAdd         = 'a'
	recClose       = 'c'
	recClosedUntil = 'x'
)

// Prune drops entries that have left the window at now and a closed-until
// that has passed. It also repairs what a clock jump leaves: an entry dated
// after now, or a closed-until beyond now+Window, is brought back to now
// (resp. now+Window), so that nothing in the ledger blocks anyone for longer
// than one window. It reports whether the ledger changed.
func (l *Ledger) Prune(now time.Time) bool {
	changed := false
	keep := l.Entries[:0]
	for _, e := range l.Entries {
		if e.At.After(now) {
			e.At, changed = now, true
		}
		if e.End().After(now) {
			keep = append(keep, e)
		} else {
			changed = true
		}
	}
	clear(l.Entries[len(keep):])
	l.Entries = keep
	if len(l.Entries) > MaxEntries {
		// Cut a quarter more than needed, so that a window holding more
		// than MaxEntries requests sorts once per MaxEntries/4 grants,
		// not on every one.
		sort.SliceStable(l.Entries, func(i, j int) bool { return l.Entries[i].At.Before(l.Entries[j].At) })
		l.Entries = append([]Entry(nil), l.Entries[len(l.Entries)-keepEntries:]...)
		changed = true
	}
	switch {
	case l.ClosedUntil.IsZero():
	case !l.ClosedUntil.After(now):
		l.ClosedUntil, changed = time.Time{}, true
	case l.ClosedUntil.After(now.Add(Window)):
		l.ClosedUntil, changed = now.Add(Window), true
	}
	return changed
}

// Close records that the server refused requests until t. It never
// shortens an earlier closing, and never closes beyond now+Window.
func (l *Ledger) Close(now, t time.Time) {
	if limit := now.Add(Window); t.After(limit) {
		t = limit
	}
	if t.After(l.ClosedUntil) {
		l.ClosedUntil = t
		l.log = append(l.log, record{kind: recClosedUntil, at: t.UnixNano()})
	}
}

// Add records a request of owner granted at; open marks it in flight until
// CloseEntry.
func (l *Ledger) Add(owner string, seq uint64, at time.Time, open bool) {
	l.Entries = append(l.Entries, Entry{Owner: owner, Seq: seq, At: at, Open: open})
	l.log = append(l.log, record{kind: recAdd, owner: owner, seq: seq, at: at.UnixNano(), open: open})
}

// CloseEntry dates the open entry seq of owner from at, when its answer came
// back. It reports whether the entry was found. It looks from the newest
// entry back: a request in flight is among the last granted.
func (l *Ledger) CloseEntry(owner string, seq uint64, at time.Time) bool {
	if !l.closeEntry(owner, seq, at) {
		return false
	}
	l.log = append(l.log, record{kind: recClose, owner: owner, seq: seq, at: at.UnixNano()})
	return true
}

func (l *Ledger) closeEntry(owner string, seq uint64, at time.Time) bool {
	for i := len(l.Entries) - 1; i >= 0; i-- {
		if e := &l.Entries[i]; e.Seq == seq && e.Open && e.Owner == owner {
			e.At, e.Open = at, false
			return true
		}
	}
	return false
}

// Others returns when each entry not made by owner leaves the window,
// earliest first, and whether any of them is open (its end will move when
// its owner closes it). Call Prune first.
func (l *Ledger) Others(owner string) (ends []time.Time, open bool) {
	for _, e := range l.Entries {
		if e.Owner != owner {
			ends = append(ends, e.End())
			open = open || e.Open
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	return ends, open
}

// Count returns the number of entries made by owner and by everyone else.
func (l *Ledger) Count(owner string) (own, others int) {
	for _, e := range l.Entries {
		if e.Owner == owner {
			own++
		} else {
			others++
		}
	}
	return own, others
}

type wireEntry struct {
	Owner string `json:"owner"`
	Seq   uint64 `json:"seq,omitempty"`
	At    int64  `json:"at"`
	Open  bool   `json:"open,omitempty"`
}

type wireLedger struct {
	Version     int         `json:"version"`
	ClosedUntil int64       `json:"closed_until"`
	Entries     []wireEntry `json:"entries"`
}

// Encode returns the ledger's file form.
func (l *Ledger) Encode() []byte {
	w := wireLedger{Version: version, Entries: make([]wireEntry, 0, len(l.Entries))}
	if !l.ClosedUntil.IsZero() {
		w.ClosedUntil = l.ClosedUntil.UnixNano()
	}
	for _, e := range l.Entries {
		w.Entries = append(w.Entries, wireEntry{Owner: e.Owner, Seq: e.Seq, At: e.At.UnixNano(), Open: e.Open})
	}
	b, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("window: encoding a ledger: %v", err)) // plain strings and ints cannot fail
	}
	return append(b, '\n')
}

// ErrCorrupt wraps every reason Decode refuses a file.
var ErrCorrupt = errors.New("corrupt window ledger")

// Decode reads a ledger's file form. An empty input is an empty ledger.
// Anything else that is not a well-formed ledger of this version is an
// error wrapping ErrCorrupt; the caller starts again from an empty ledger.
func Decode(b []byte) (Ledger, error) {
	if len(b) == 0 {
		return Ledger{}, nil
	}
	var w wireLedger
	if err := json.Unmarshal(b, &w); err != nil {
		return Ledger{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if w.Version != version {
		return Ledger{}, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, w.Version, version)
	}
	if len(w.Entries) > MaxEntries {
		return Ledger{}, fmt.Errorf("%w: %d entries, at most %d", ErrCorrupt, len(w.Entries), MaxEntries)
	}
	var l Ledger
	if w.ClosedUntil > 0 {
		l.ClosedUntil = time.Unix(0, w.ClosedUntil)
	}
	for _, e := range w.Entries {
		if e.Owner == "" || len(e.Owner) > maxOwner || e.At <= 0 {
			return Ledger{}, fmt.Errorf("%w: bad entry %q at %d", ErrCorrupt, truncate(e.Owner), e.At)
		}
		l.Entries = append(l.Entries, Entry{Owner: e.Owner, Seq: e.Seq, At: time.Unix(0, e.At), Open: e.Open})
	}
	return l, nil
}

func truncate(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
