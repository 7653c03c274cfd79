package state

import (
	"crypto/rand"
	"fmt"
	"math"
	"slices"
	"time"
)

// Version is the format version this package reads and writes.
const Version = 1

// MaxSamples is how many latency samples a Samples keeps; older ones are
// dropped first.
const MaxSamples = 50

// State is the whole content of a state file. See the package documentation
// for the format.
type State struct {
	Version int                    `json:"version"`
	Serial  uint64                 `json:"serial"`
	Lineage string                 `json:"lineage"`
	Assets  map[string]*Asset      `json:"assets"`
	Models  map[string]*ModelStats `json:"models,omitempty"`
	Balance *Balance               `json:"balance,omitempty"`
}

// Status is where an asset is in its life: intent, submitted, completed or
// failed.
type Status string

// The statuses an asset can be in.
const (
	// StatusIntent means a generate POST is about to be, or may have been,
	// sent; its outcome is unknown until a response is recorded.
	StatusIntent Status = "intent"
	// StatusSubmitted means the task id and poll URL are recorded and the
	// asset is generating.
	StatusSubmitted Status = "submitted"
	// StatusCompleted means the outputs are recorded.
	StatusCompleted Status = "completed"
	// StatusFailed means the API reported the generation as failed.
	StatusFailed Status = "failed"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusIntent, StatusSubmitted, StatusCompleted, StatusFailed:
		return true
	}
	return false
}

// Asset is the record of one generation, keyed by its instance address.
type Asset struct {
	Address     string         `json:"address"`
	Kind        string         `json:"kind"`
	Model       string         `json:"model,omitempty"`
	RequestHash string         `json:"request_hash"`
	Request     map[string]any `json:"request,omitempty"`
	DependsOn   []string       `json:"depends_on,omitempty"`
	Status      Status         `json:"status"`
	TaskID      string         `json:"task_id,omitempty"`
	PollURL     string         `json:"poll_url,omitempty"`
	Provider    string         `json:"provider,omitempty"`
	Outputs     []Output       `json:"outputs,omitempty"`
	Content     string         `json:"content,omitempty"`
	Usage       *Usage         `json:"usage,omitempty"`
	CostCents   *int           `json:"cost_cents,omitempty"`
	Error       string         `json:"error,omitempty"`
	IntentAt    time.Time      `json:"intent_at,omitzero"`
	SubmittedAt time.Time      `json:"submitted_at,omitzero"`
	CompletedAt time.Time      `json:"completed_at,omitzero"`
	// Takes are the earlier generations of this asset, oldest first; the
	// current take stays in the fields above.
	Takes []Take `json:"takes,omitempty"`
	// Redacted names where xpflow found the API key and wrote [REDACTED]
	// in its place: request parameters (prompt, ...) and RedactedAnswer.
	Redacted []string `json:"redacted,omitempty"`
}

// RedactedAnswer in Asset.Redacted says the API's answer (text content,
// an error, a poll or output URL) held the API key.
const RedactedAnswer = "answer"

// Take is an earlier generation of an asset, kept when the asset is
// generated again so that no paid output is ever lost.
type Take struct {
	RequestHash string         `json:"request_hash"`
	Request     map[string]any `json:"request,omitempty"`
	TaskID      string         `json:"task_id,omitempty"`
	Outputs     []Output       `json:"outputs,omitempty"`
	Content     string         `json:"content,omitempty"`
	CostCents   *int           `json:"cost_cents,omitempty"`
	CompletedAt time.Time      `json:"completed_at,omitzero"`
}

// Output is one generated file: its CDN URL and, once downloaded, the local
// file (relative to the spec directory), its SHA-256 and its size. Expired
// records that the URL answered a download with 403, 404 or 410 before the
// file was fetched: the output is paid for but can no longer be had.
type Output struct {
	URL     string `json:"url"`
	File    string `json:"file,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"`
	Expired bool   `json:"expired,omitempty"`
}

// Usage is the token accounting of a text generation.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ModelStats is what xpflow has observed about one model. Both maps are
// keyed by the video duration in seconds as a decimal string ("8"), or ""
// for models whose cost and latency do not depend on a duration.
type ModelStats struct {
	Latency map[string]*Samples `json:"latency,omitempty"`
	Prices  map[string]*Price   `json:"prices,omitempty"`
}

// Samples is a window of observed latencies of one model and key, most
// recent last, holding at most MaxSamples observations in all.
//
// Intervals are what polls observe: the task was seen processing Lo
// seconds after its submit (0 if never) and seen completed Hi seconds after
// it, Hi being when that poll actually went out. Seconds are exact
// latencies, as recorded by state files before intervals existed; a reader
// takes each as the interval [s, s].
type Samples struct {
	Seconds   []float64  `json:"seconds,omitempty"`
	Intervals []Interval `json:"intervals,omitempty"`
}

// Interval is one interval-censored latency in seconds: the latency is
// more than Lo and at most Hi.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// AddInterval records that a task was processing at lo and completed by
// hi, dropping the oldest observations when more than MaxSamples are held.
func (s *Samples) AddInterval(lo, hi float64) {
	s.Intervals = append(s.Intervals, Interval{Lo: lo, Hi: hi})
	s.trim()
}

// trim keeps the newest MaxSamples observations; the exact seconds of an
// older state file are older than any interval, so they go first.
func (s *Samples) trim() {
	over := len(s.Seconds) + len(s.Intervals) - MaxSamples
	if over <= 0 {
		return
	}
	drop := min(over, len(s.Seconds))
	s.Seconds = slices.Clone(s.Seconds[drop:])
	if over -= drop; over > 0 {
		s.Intervals = slices.Clone(s.Intervals[over:])
	}
	if len(s.Seconds) == 0 {
		s.Seconds = nil
	}
}

// Price is the last observed cost of a model for one key of ModelStats,
// how many times a cost was observed, and when it was last seen.
type Price struct {
	Cents int       `json:"cents"`
	Count int       `json:"count"`
	At    time.Time `json:"at"`
}

// Balance is the credit balance last reported by the API and when.
type Balance struct {
	Cents int       `json:"cents"`
	At    time.Time `json:"at"`
}

// New returns an empty state of the current Version with a fresh lineage.
func New() *State {
	return &State{
		Version: Version,
		Lineage: newLineage(),
		Assets:  map[string]*Asset{},
	}
}

// newLineage returns a random version-4 UUID.
func newLineage() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Add records a latency of sec seconds, dropping the oldest sample when
// more than MaxSamples are held.
func (s *Samples) Add(sec float64) {
	s.Seconds = append(s.Seconds, sec)
	s.trim()
}

// Quantile returns the q-quantile (0 <= q <= 1; values outside are clamped)
// of the samples, interpolating linearly between the two nearest ranks.
// ok is false when there are no samples or q is NaN.
func (s *Samples) Quantile(q float64) (v float64, ok bool) {
	if s == nil || len(s.Seconds) == 0 || math.IsNaN(q) {
		return 0, false
	}
	sorted := slices.Clone(s.Seconds)
	slices.Sort(sorted)
	q = min(max(q, 0), 1)
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return sorted[lo] + (sorted[hi]-sorted[lo])*frac, true
}
