package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
)

// The journal is a sequence of records, one a line:
//
//	<length> <crc32c> <json>\n
//
// length is the byte length of json in decimal, crc32c its CRC-32C
// (Castagnoli) as 8 lower-case hex digits, and json the Record encoded on
// one line. A record that is cut short, or whose checksum does not match,
// is torn: when it is the last thing in the file it is dropped (a crash
// interrupted its append, so it was never acknowledged), anywhere else it
// is corruption and an error.

// JournalPath returns the path of the journal of the state file at path:
// the state's name without a ".json" suffix, plus ".journal", in the same
// directory (xpflow.state.json -> xpflow.state.journal).
func JournalPath(path string) string {
	return strings.TrimSuffix(path, ".json") + ".journal"
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// maxRecordLen bounds the length a record header may claim, so a corrupt
// header cannot make a reader allocate without limit.
const maxRecordLen = 1 << 30

// encodeRecord returns the journal line of r.
func encodeRecord(r *Record) ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding journal record: %w", err)
	}
	line := make([]byte, 0, len(payload)+21)
	line = strconv.AppendInt(line, int64(len(payload)), 10)
	line = append(line, ' ')
	line = append(line, fmt.Sprintf("%08x", crc32.Checksum(payload, crcTable))...)
	line = append(line, ' ')
	line = append(line, payload...)
	return append(line, '\n'), nil
}

// decodeRecord parses the JSON of one record as strictly as Decode parses
// a state file.
func decodeRecord(payload []byte) (*Record, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	r := &Record{}
	if err := dec.Decode(r); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the record")
	}
	for _, m := range r.Models {
		if m != nil && len(m.Latency) == 0 {
			m.Latency = nil
		}
		if m != nil && len(m.Prices) == 0 {
			m.Prices = nil
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// errTorn marks a record cut short or failing its checksum.
var errTorn = errors.New("torn record")

// splitRecord reads the record at the start of data. It returns its JSON
// and the length of its line, or an error wrapping errTorn.
func splitRecord(data []byte) (payload []byte, n int, err error) {
	sp := bytes.IndexByte(data, ' ')
	if sp < 1 || sp > 10 {
		return nil, 0, fmt.Errorf("%w: no length", errTorn)
	}
	length, perr := strconv.Atoi(string(data[:sp]))
	if perr != nil || length < 2 || length > maxRecordLen {
		return nil, 0, fmt.Errorf("%w: bad length %q", errTorn, data[:sp])
	}
	head := sp + 1 + 8 + 1
	if len(data) < head || data[head-1] != ' ' {
		return nil, 0, fmt.Errorf("%w: no checksum", errTorn)
	}
	sum, perr := strconv.ParseUint(string(data[sp+1:head-1]), 16, 32)
	if perr != nil {
		return nil, 0, fmt.Errorf("%w: bad checksum %q", errTorn, data[sp+1:head-1])
	}
	end := head + length
	if len(data) < end+1 {
		return nil, 0, fmt.Errorf("%w: %d of %d bytes", errTorn, len(data)-head, length+1)
	}
	payload = data[head:end]
	if data[end] != '\n' {
		return nil, 0, fmt.Errorf("%w: no end of line after %d bytes", errTorn, length)
	}
	if crc32.Checksum(payload, crcTable) != uint32(sum) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", errTorn)
	}
	return payload, end + 1, nil
}

// parseJournal returns the records in data and the length of the valid
// prefix: len(data), or less when a torn last record was dropped. A torn
// record followed by anything but the end of the file, or a record that
// passes its checksum but does not decode, is an error naming its byte
// offset.
func parseJournal(data []byte) (recs []*Record, valid int, err error) {
	off := 0
	for off < len(data) {
		payload, n, err := splitRecord(data[off:])
		if err != nil {
			if tornTail(data[off:]) {
				return recs, off, nil
			}
			return nil, 0, fmt.Errorf("record %d at byte %d is corrupt (%v) and is not the last: the journal is damaged in the middle", len(recs)+1, off, err)
		}
		r, err := decodeRecord(payload)
		if err != nil {
			return nil, 0, fmt.Errorf("record %d at byte %d: %w", len(recs)+1, off, err)
		}
		recs = append(recs, r)
		off += n
	}
	return recs, off, nil
}

// tornTail reports whether rest, which starts with a record that does not
// read, can be what an interrupted append left: nothing follows the
// bytes its header claims, or, without a readable header, no further
// line ends.
func tornTail(rest []byte) bool {
	if sp := bytes.IndexByte(rest, ' '); sp >= 1 && sp <= 10 {
		if length, err := strconv.Atoi(string(rest[:sp])); err == nil && length >= 2 && length <= maxRecordLen {
			return len(rest) <= sp+1+8+1+length+1
		}
	}
	nl := bytes.IndexByte(rest, '\n')
	return nl < 0 || nl == len(rest)-1
}

// replay applies recs over st in order, skipping those the snapshot
// already includes (a crash between writing a snapshot and emptying the
// journal leaves them). It returns how many it applied.
func replay(st *State, recs []*Record) (int, error) {
	n := 0
	for _, r := range recs {
		if n == 0 && r.Lineage == st.Lineage && r.Serial <= st.Serial {
			continue
		}
		if err := r.Apply(st); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
