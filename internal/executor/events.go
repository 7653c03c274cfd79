package executor

import (
	"sort"
	"time"
)

// Phase is a step in an asset instance's life during apply.
type Phase string

// The phases, in the order an asset usually goes through them.
const (
	PhaseQueued Phase = "queued"
	// PhaseRateLimited: the asset's generate request waits for a slot of
	// the key's rate-limit window (shown as "queued (rate limit)"). It is
	// followed by PhaseSubmitting when the request actually goes out.
	PhaseRateLimited Phase = "rate-limited"
	PhaseSubmitting  Phase = "submitting"
	PhaseSubmitted   Phase = "submitted"
	PhasePolling     Phase = "polling"
	PhaseDownloading Phase = "downloading"
	PhaseDone        Phase = "done"
	PhaseFailed      Phase = "failed"
	PhaseSkipped     Phase = "skipped"
	PhaseUnknown     Phase = "unknown"
	// PhaseExpired: paid and recorded, but the output URL has expired.
	PhaseExpired Phase = "expired"
)

// Phases returns every phase an event can carry, in the order above.
func Phases() []Phase {
	return []Phase{PhaseQueued, PhaseRateLimited, PhaseSubmitting, PhaseSubmitted, PhasePolling,
		PhaseDownloading, PhaseDone, PhaseFailed, PhaseSkipped, PhaseUnknown, PhaseExpired}
}

// Event is one state change of one asset instance.
type Event struct {
	Time    time.Time
	Addr    string
	Phase   Phase
	Elapsed time.Duration // since the run started
	// Message explains failures and skips; for other phases it may name the
	// task id or the file written.
	Message string
	// CostCents is set on the event where a charge was observed.
	CostCents *int
	// ETA is the scheduler's forecast, at Time, of how long the run still
	// needs: the later of when the requests still needed (a submit and a
	// poll per asset not yet submitted, a poll per running task) fit in the
	// rate-limit window, and when the running tasks are expected done (the
	// median of each one's learned latency, given how long it has run).
	// Zero when nothing is left to request or wait for.
	ETA time.Duration
}

// Observer receives events. Calls may come from many goroutines; an
// Observer must be safe for concurrent use.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Event calls f.
func (f ObserverFunc) Event(e Event) { f(e) }

// Outcome is how an asset instance ended in this run.
type Outcome string

// The outcomes.
const (
	OutcomeDone       Outcome = "done"       // generated (or downloaded) in this run
	OutcomeUnchanged  Outcome = "unchanged"  // noop: nothing to do
	OutcomeFailed     Outcome = "failed"     // see the message
	OutcomeSkipped    Outcome = "skipped"    // an upstream failed, or submitting stopped
	OutcomeGenerating Outcome = "generating" // still generating when the run stopped
	OutcomeUnknown    Outcome = "unknown"    // a POST whose outcome is unknown
	OutcomeExcluded   Outcome = "excluded"   // outside -target
	// OutcomeExpired: the generation is paid and recorded completed, but
	// its output URL expired before the file was downloaded.
	OutcomeExpired Outcome = "expired"
)

// AssetResult is the outcome of one instance.
type AssetResult struct {
	Addr      string
	Outcome   Outcome
	Message   string
	CostCents int
	Model     string
	// ByOther is true when another runner of the campaign generated (or
	// submitted) the asset and this run adopted its record: this run
	// paid nothing for it.
	ByOther bool
}

// Summary is what a run did.
type Summary struct {
	Assets         []AssetResult // in plan order
	EstimatedCents int
	Unpriced       int
	ActualCents    int
	// PerModel holds estimate and actual cents per model for spent nodes.
	PerModel map[string]*ModelCost
	// RemainingCents is the last balance the API reported, nil if none.
	RemainingCents *int
	Requests       int64
	Wall           time.Duration
	// Interrupted is true when a signal stopped the run.
	Interrupted bool
	// CreditsShort is set when the API answered 402: what the assets not
	// submitted were estimated to need.
	CreditsShort *Shortfall
}

// ModelCost compares estimate and actual charges for one model.
type ModelCost struct {
	Estimated int
	Actual    int
	Count     int
}

// Shortfall describes a stop on insufficient credits.
type Shortfall struct {
	NeededCents    int
	UnpricedAssets int
	AvailableCents *int
}

// Counts returns the number of assets per outcome.
func (s *Summary) Counts() map[Outcome]int {
	out := map[Outcome]int{}
	for _, a := range s.Assets {
		out[a.Outcome]++
	}
	return out
}

// Failed returns the results whose outcome is failed or unknown, the root
// causes of a failed run.
func (s *Summary) Failed() []AssetResult {
	var out []AssetResult
	for _, a := range s.Assets {
		if a.Outcome == OutcomeFailed || a.Outcome == OutcomeUnknown {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// Expired returns the results whose generation is paid and recorded but
// whose output URL expired before the download.
func (s *Summary) Expired() []AssetResult {
	var out []AssetResult
	for _, a := range s.Assets {
		if a.Outcome == OutcomeExpired {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// OK reports whether every asset finished or was unchanged.
func (s *Summary) OK() bool {
	for _, a := range s.Assets {
		switch a.Outcome {
		case OutcomeDone, OutcomeUnchanged, OutcomeExcluded:
		default:
			return false
		}
	}
	return !s.Interrupted
}
