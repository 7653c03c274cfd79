package window

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// fileVersion is the version of the ledger file: a header line, then one
// JSON line per change (the whole-ledger JSON of Encode is version 1).
const fileVersion = 2

// headerLen is the length of the header line, which is fixed: its
// generation is always 16 hex digits.
var headerLen = len(fileHeader("0000000000000000"))

// maxFileSize bounds what a FileStore reads. Compaction keeps a ledger
// file below about 2 MB (MaxEntries live entries, as many changes since);
// a larger one was not written by xpflow and is rebuilt.
const maxFileSize = 16 << 20

var genPattern = regexp.MustCompile(`^\{"xpflow_window":2,"gen":"([0-9a-f]{16})"\}\n$`)

// fileHeader is the first line of a ledger file. gen changes each time the
// file is rewritten whole, so that a process reading it incrementally knows
// to read it again from the start.
func fileHeader(gen string) []byte {
	return []byte(`{"xpflow_window":2,"gen":"` + gen + `"}` + "\n")
}

// parseHeader returns the generation of a header line.
func parseHeader(b []byte) (string, error) {
	m := genPattern.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%w: no %s header", ErrCorrupt, "xpflow_window v2")
	}
	return string(m[1]), nil
}

// wireRecord is one line of a ledger file after the header: an entry added
// (owner, seq, at, open), an entry closed (owner, seq, closed), or a 429's
// closed-until.
type wireRecord struct {
	Owner       string `json:"owner,omitempty"`
	Seq         uint64 `json:"seq,omitempty"`
	At          int64  `json:"at,omitempty"`
	Open        bool   `json:"open,omitempty"`
	Closed      int64  `json:"closed,omitempty"`
	ClosedUntil int64  `json:"closed_until,omitempty"`
}

// appendRecord appends r's line to b.
func appendRecord(b []byte, r record) []byte {
	var w wireRecord
	switch r.kind {
	case recAdd:
		w = wireRecord{Owner: r.owner, Seq: r.seq, At: r.at, Open: r.open}
	case recClose:
		w = wireRecord{Owner: r.owner, Seq: r.seq, Closed: r.at}
	case recClosedUntil:
		w = wireRecord{ClosedUntil: r.at}
	}
	line, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("window: encoding a record: %v", err)) // strings and ints cannot fail
	}
	return append(append(b, line...), '\n')
}

// replay applies the complete lines of b to l without recording them, and
// returns how many bytes it consumed: a last line without its newline is
// left, being a write cut short. A line that is not a record is an error
// wrapping ErrCorrupt.
func replay(l *Ledger, b []byte) (int, error) {
	used := 0
	for {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			return used, nil
		}
		if err := applyLine(l, b[used:used+i]); err != nil {
			return used, err
		}
		used += i + 1
	}
}

func applyLine(l *Ledger, line []byte) error {
	var w wireRecord
	if err := json.Unmarshal(line, &w); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	switch {
	case w.ClosedUntil > 0 && w.Owner == "":
		if t := time.Unix(0, w.ClosedUntil); t.After(l.ClosedUntil) {
			l.ClosedUntil = t
		}
		return nil
	case w.Owner == "" || len(w.Owner) > maxOwner:
		return fmt.Errorf("%w: bad record %q", ErrCorrupt, truncate(string(line)))
	case w.Closed > 0:
		// The entry may have left this reader's window already.
		l.closeEntry(w.Owner, w.Seq, time.Unix(0, w.Closed))
		return nil
	case w.At > 0:
		l.Entries = append(l.Entries, Entry{Owner: w.Owner, Seq: w.Seq, At: time.Unix(0, w.At), Open: w.Open})
		return nil
	}
	return fmt.Errorf("%w: bad record %q", ErrCorrupt, truncate(string(line)))
}

// encodeFile returns the whole file form of l under generation gen.
func encodeFile(l *Ledger, gen string) []byte {
	b := fileHeader(gen)
	if !l.ClosedUntil.IsZero() {
		b = appendRecord(b, record{kind: recClosedUntil, at: l.ClosedUntil.UnixNano()})
	}
	for _, e := range l.Entries {
		b = appendRecord(b, record{kind: recAdd, owner: e.Owner, seq: e.Seq, at: e.At.UnixNano(), open: e.Open})
	}
	return b
}

// DecodeFile reads a whole ledger file as a FileStore writes it. An empty
// input is an empty ledger; a last line cut short is ignored, as a
// FileStore does. Anything else that is not a ledger file is an error
// wrapping ErrCorrupt.
func DecodeFile(b []byte) (Ledger, error) {
	var l Ledger
	if len(b) == 0 {
		return l, nil
	}
	if len(b) < headerLen {
		return Ledger{}, fmt.Errorf("%w: %d bytes, shorter than the header", ErrCorrupt, len(b))
	}
	if _, err := parseHeader(b[:headerLen]); err != nil {
		return Ledger{}, err
	}
	if _, err := replay(&l, b[headerLen:]); err != nil {
		return Ledger{}, err
	}
	return l, nil
}
