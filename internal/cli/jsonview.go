package cli

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// jsonView writes apply's machine-readable stream: one JSON object per
// line, a "plan" event first, an "asset" event per state change and a
// "summary" event last. The schema is documented in docs/cli.md and is
// stable: fields may be added, never renamed or removed.
type jsonView struct {
	mu  sync.Mutex // serialises writes
	enc *json.Encoder
}

func newJSONView(w io.Writer) *jsonView { return &jsonView{enc: json.NewEncoder(w)} }

func (v *jsonView) write(x any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	_ = v.enc.Encode(x)
}

type jsonPlanEvent struct {
	Type string `json:"type"`
	jsonPlan
}

// Plan writes the plan event: the plan -json object with "type":"plan".
func (v *jsonView) Plan(p *planner.Plan) {
	v.write(jsonPlanEvent{Type: "plan", jsonPlan: planJSON(p)})
}

type jsonAssetEvent struct {
	Type           string  `json:"type"`
	Time           string  `json:"time"`
	Address        string  `json:"address"`
	Phase          string  `json:"phase"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Message        string  `json:"message,omitempty"`
	CostCents      *int    `json:"cost_cents,omitempty"`
}

// Event writes one asset event.
func (v *jsonView) Event(e executor.Event) {
	v.write(jsonAssetEvent{Type: "asset", Time: e.Time.UTC().Format(time.RFC3339Nano), Address: e.Addr,
		Phase: string(e.Phase), ElapsedSeconds: e.Elapsed.Seconds(), Message: e.Message, CostCents: e.CostCents})
}

type jsonWindowEvent struct {
	Type        string  `json:"type"`
	Time        string  `json:"time"`
	Waiting     bool    `json:"waiting"`
	Others      int     `json:"others"`
	ClosedUntil *string `json:"closed_until"`
	Message     string  `json:"message"`
}

// Window writes a window event: requests start (waiting true) or stop
// waiting on other xpflow processes using the same key.
func (v *jsonView) Window(n xpilot.WindowNote) {
	ev := jsonWindowEvent{Type: "window", Time: n.Time.UTC().Format(time.RFC3339Nano), Waiting: n.Waiting,
		Others: n.Others, Message: n.String()}
	if !n.ClosedUntil.IsZero() {
		s := n.ClosedUntil.UTC().Format(time.RFC3339Nano)
		ev.ClosedUntil = &s
	}
	v.write(ev)
}

type jsonSummaryEvent struct {
	Type                  string            `json:"type"`
	Counts                map[string]int    `json:"counts"`
	ByOtherRunners        int               `json:"by_other_runners"`
	EstimatedCostCents    int               `json:"estimated_cost_cents"`
	UnpricedAssets        int               `json:"unpriced_assets"`
	ActualCostCents       int               `json:"actual_cost_cents"`
	RemainingCreditsCents *int              `json:"remaining_credits_cents"`
	APIRequests           int64             `json:"api_requests"`
	WallSeconds           float64           `json:"wall_seconds"`
	Interrupted           bool              `json:"interrupted"`
	Failed                []jsonFailedAsset `json:"failed"`
	Expired               []jsonFailedAsset `json:"expired"`
}

type jsonFailedAsset struct {
	Address string `json:"address"`
	Outcome string `json:"outcome"`
	Message string `json:"message"`
}

// Summary writes the summary event.
func (v *jsonView) Summary(s *executor.Summary) {
	ev := jsonSummaryEvent{Type: "summary", Counts: map[string]int{}, EstimatedCostCents: s.EstimatedCents,
		UnpricedAssets: s.Unpriced, ActualCostCents: s.ActualCents, RemainingCreditsCents: s.RemainingCents,
		APIRequests: s.Requests, WallSeconds: s.Wall.Seconds(), Interrupted: s.Interrupted, Failed: []jsonFailedAsset{},
		Expired: []jsonFailedAsset{}}
	for o, n := range s.Counts() {
		ev.Counts[string(o)] = n
	}
	for _, a := range s.Assets {
		if a.ByOther && a.Outcome == executor.OutcomeDone {
			ev.ByOtherRunners++
		}
	}
	for _, a := range s.Failed() {
		ev.Failed = append(ev.Failed, jsonFailedAsset{Address: a.Addr, Outcome: string(a.Outcome), Message: a.Message})
	}
	// Paid and recorded, not failed: the link expired before the download.
	for _, a := range s.Expired() {
		ev.Expired = append(ev.Expired, jsonFailedAsset{Address: a.Addr, Outcome: string(a.Outcome), Message: a.Message})
	}
	v.write(ev)
}
