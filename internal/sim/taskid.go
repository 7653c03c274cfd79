package sim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
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

// cdnHost is the host of output URLs when WithStableCDN is set: reserved by
// RFC 2606, so it never resolves outside the simulator's own client.
const cdnHost = "cdn.xpflow-sim.invalid"

// idEncoding keeps ids lowercase alphanumeric, like the unsigned ones.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const (
	fateAsync = 0x80 // the task was polled, not answered at once
	idVersion = 1
	idSigLen  = 10 // bytes of HMAC-SHA256 kept
)

// WithTaskSecret makes task ids self-describing and signed with secret, so
// that a simulator started later with the same secret answers polls and
// serves outputs for them. xpflow -simulate derives the secret from the
// state's lineage: resuming works per state file, as it does per account
// against the real API.
func WithTaskSecret(secret []byte) Option {
	return func(c *config) { c.taskSecret = append([]byte(nil), secret...) }
}

// keyFingerprint is 4 bytes of the key's hash: enough to tell keys apart in
// an id without putting the key in it.
func keyFingerprint(key string) []byte {
	h := sha256.Sum256([]byte("xpflow-sim key\x00" + key))
	return h[:4]
}

// signedID encodes t, whose fields are all set, as a signed id.
// seq, the task's number in this process, keeps ids of identical
// same-millisecond submits apart.
func (s *Server) signedID(prefix string, t *task, async bool, submitted time.Time, seq uint64) string {
	var b bytes.Buffer
	b.WriteByte(idVersion)
	b.Write(keyFingerprint(t.key))
	_ = binary.Write(&b, binary.BigEndian, uint32(seq))
	_ = binary.Write(&b, binary.BigEndian, submitted.UnixMilli())
	_ = binary.Write(&b, binary.BigEndian, uint32(t.ready.Sub(submitted).Milliseconds()))
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
	b.WriteByte(fate)
	for _, f := range []string{t.kind, t.provider, t.model, t.aspect} {
		b.WriteByte(byte(len(f)))
		b.WriteString(f)
	}
	payload := b.Bytes()
	return prefix + idEncoding.EncodeToString(append(payload, s.idSig(payload)...))
}

func (s *Server) idSig(payload []byte) []byte {
	m := hmac.New(sha256.New, s.taskSecret)
	m.Write(payload)
	return m.Sum(nil)[:idSigLen]
}

var errBadID = errors.New("not a signed task id")

// taskFromID rebuilds the task a signed id describes. The key is checked
// by the caller against the fingerprint (the CDN has no key).
func (s *Server) taskFromID(id string) (*task, []byte, error) {
	if len(s.taskSecret) == 0 {
		return nil, nil, errBadID
	}
	i := strings.IndexByte(id, '_')
	if i < 0 {
		return nil, nil, errBadID
	}
	raw, err := idEncoding.DecodeString(id[i+1:])
	if err != nil || len(raw) < 1+4+4+8+4+1+idSigLen {
		return nil, nil, errBadID
	}
	payload, sig := raw[:len(raw)-idSigLen], raw[len(raw)-idSigLen:]
	if !hmac.Equal(sig, s.idSig(payload)) || payload[0] != idVersion {
		return nil, nil, errBadID
	}
	fp := payload[1:5] // payload[5:9] is the sequence number
	submitted := time.UnixMilli(int64(binary.BigEndian.Uint64(payload[9:17])))
	latency := time.Duration(binary.BigEndian.Uint32(payload[17:21])) * time.Millisecond
	fate := payload[21]
	rest := payload[22:]
	var fields [4]string
	for j := range fields {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, nil, errBadID
		}
		n := int(rest[0])
		fields[j], rest = string(rest[1:1+n]), rest[1+n:]
	}
	t := &task{id: id, kind: fields[0], provider: fields[1], model: fields[2], aspect: fields[3],
		ready:  submitted.Add(latency),
		prompt: "(a task submitted to an earlier simulator run)"}
	if f := int(fate &^ fateAsync); f > 0 && f <= len(failureTexts) {
		t.failed, t.errText = true, failureTexts[f-1]
	}
	if t.provider == provWavespeed && fate&fateAsync != 0 {
		t.upstream = "https://api.wavespeed.ai/api/v3/predictions/" + id + "/result"
	}
	return t, fp, nil
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
		if !bytes.Equal(fp, keyFingerprint(key)) {
			return nil
		}
		t.key = key
		s.tasks[id] = t
	}
	return t
}
