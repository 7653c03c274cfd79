package sim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Signed task ids let a simulator answer for tasks that another simulator
// process created, as the real API does after the client restarts: with
// WithTaskSecret, a task id carries what the task is (kind, provider,
// model, aspect ratio, the key's fingerprint, submit time, latency and
// fate), signed with the secret. A simulator with the same secret rebuilds
// the task from the id alone; a forged or altered id, or one signed with
// another secret, is unknown (404), as before.

// cdnHost is the host of output URLs when WithTaskSecret is set: reserved
// by RFC 2606, so it never resolves outside the simulator's own client.
const cdnHost = "cdn.xpflow-sim.invalid"

const (
	fateAsync = 0x80 // the task was polled, not answered at once
	idVersion = 1
	idSigLen  = 8 // bytes of HMAC-SHA256 kept
	// idLen is version, key fingerprint (3), sequence (2), submit time in
	// ms (6), latency in ms (4), fate (1), model hash (4), aspect hash (2).
	idLen = 1 + 3 + 2 + 6 + 4 + 1 + 4 + 2
)

// WithTaskSecret makes task ids self-describing and signed with secret, so
// that a simulator started later with the same secret answers polls and
// serves outputs for them. Output URLs then name the stable host
// cdn.xpflow-sim.invalid, which Running.Client reaches. xpflow -simulate
// derives the secret from the state's lineage: resuming works per state
// file, as it does per account against the real API.
func WithTaskSecret(secret []byte) Option {
	return func(c *config) { c.taskSecret = append([]byte(nil), secret...) }
}

// shortHash is the first n bytes of a labelled SHA-256.
func shortHash(label, v string, n int) []byte {
	h := sha256.Sum256([]byte("xpflow-sim " + label + "\x00" + v))
	return h[:n]
}

// signedID encodes t, whose fields are all set, as a signed id: prefix and
// hex, like the unsigned ids. seq, the task's number in this process,
// keeps identical same-millisecond submits apart.
func (s *Server) signedID(prefix string, t *task, async bool, submitted time.Time, seq uint64) string {
	b := make([]byte, 0, idLen+idSigLen)
	b = append(b, idVersion)
	b = append(b, shortHash("key", t.key, 3)...)
	b = binary.BigEndian.AppendUint16(b, uint16(seq))
	ms := uint64(submitted.UnixMilli())
	b = append(b, byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms))
	b = binary.BigEndian.AppendUint32(b, uint32(t.ready.Sub(submitted).Milliseconds()))
	fate := byte(0)
	if async {
		fate |= fateAsync
	}
	if t.failed {
		for i, txt := range failureTexts {
			if txt == t.errText {
				fate |= byte(i + 1)
			}
		}
	}
	b = append(b, fate)
	b = append(b, shortHash("model", t.model, 4)...)
	b = append(b, shortHash("aspect", t.aspect, 2)...)
	return prefix + hex.EncodeToString(append(b, s.idSig(b)...))
}

func (s *Server) idSig(payload []byte) []byte {
	m := hmac.New(sha256.New, s.taskSecret)
	m.Write(payload)
	return m.Sum(nil)[:idSigLen]
}

var errBadID = errors.New("not a signed task id")

// taskFromID rebuilds the task a signed id describes, and returns the key
// fingerprint for the caller to check (the CDN has no key).
func (s *Server) taskFromID(id string) (*task, []byte, error) {
	if len(s.taskSecret) == 0 {
		return nil, nil, errBadID
	}
	i := strings.IndexByte(id, '_')
	if i < 0 {
		return nil, nil, errBadID
	}
	raw, err := hex.DecodeString(id[i+1:])
	if err != nil || len(raw) != idLen+idSigLen {
		return nil, nil, errBadID
	}
	p, sig := raw[:idLen], raw[idLen:]
	if !hmac.Equal(sig, s.idSig(p)) || p[0] != idVersion {
		return nil, nil, errBadID
	}
	fp := p[1:4] // p[4:6] is the sequence number
	var ms uint64
	for _, c := range p[6:12] {
		ms = ms<<8 | uint64(c)
	}
	submitted := time.UnixMilli(int64(ms))
	latency := time.Duration(binary.BigEndian.Uint32(p[12:16])) * time.Millisecond
	fate := p[16]
	m := s.modelByHash(p[17:21])
	if m == nil {
		return nil, nil, errBadID // a model this build does not know
	}
	t := &task{id: id, kind: m.Type, provider: m.Provider, model: m.ID, aspect: aspectByHash(p[21:23]),
		ready: submitted.Add(latency), prompt: "(a task submitted to an earlier simulator run)"}
	if f := int(fate &^ fateAsync); f > 0 && f <= len(failureTexts) {
		t.failed, t.errText = true, failureTexts[f-1]
	}
	if t.provider == provWavespeed && fate&fateAsync != 0 {
		t.upstream = "https://api.wavespeed.ai/api/v3/predictions/" + id + "/result"
	}
	return t, fp, nil
}

func (s *Server) modelByHash(h []byte) *model {
	for id, m := range s.cat.models {
		if bytes.Equal(shortHash("model", id, 4), h) {
			return m
		}
	}
	return nil
}

func aspectByHash(h []byte) string {
	for a := range aspectRatios {
		if bytes.Equal(shortHash("aspect", a, 2), h) {
			return a
		}
	}
	return ""
}

// lookupTask finds a task by id: one this process created, or one a signed
// id describes, which it then keeps. key is "" for the CDN, which has no
// key; otherwise the id must have been made for key. Caller holds s.mu.
func (s *Server) lookupTaskLocked(key, id string) *task {
	if t := s.tasks[id]; t != nil {
		if key != "" && t.key != key {
			return nil
		}
		return t
	}
	t, fp, err := s.taskFromID(id)
	if err != nil {
		return nil
	}
	if key != "" {
		if !bytes.Equal(fp, shortHash("key", key, 3)) {
			return nil
		}
		t.key = key
		s.tasks[id] = t
	}
	return t
}
