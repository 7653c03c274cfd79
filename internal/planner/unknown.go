package planner

import (
	"fmt"
	"sort"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// MayBePaid is a generate request whose outcome is unknown: its intent is
// in the state, its answer never was (apply was killed with the request on
// the wire). The API may or may not have charged it; it has no way to ask.
type MayBePaid struct {
	Addr   string
	Model  string
	SentAt time.Time // when the intent was recorded, just before sending
	Cost   Cost      // what the request would have cost, if charged
}

// MayBePaid lists the requests of the plan whose outcome is unknown, by
// address, with what each may have cost. There is at most one per request
// that was on the wire when an apply was killed: -parallelism of them.
func (p *Plan) MayBePaid() []MayBePaid {
	var out []MayBePaid
	for _, n := range p.Nodes {
		if n.Action != ActionUnknown || n.Prior == nil || n.Prior.Status != state.StatusIntent {
			continue
		}
		out = append(out, MayBePaid{Addr: n.Addr, Model: n.Prior.Model, SentAt: n.Prior.IntentAt, Cost: n.Cost})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// MayBePaidCents totals what the unknown requests may have cost and how
// many of them have no known price.
func (p *Plan) MayBePaidCents() (cents, unpriced int) {
	for _, m := range p.MayBePaid() {
		if m.Cost.Priced {
			cents += m.Cost.Cents
		} else {
			unpriced++
		}
	}
	return cents, unpriced
}

// describeUnknown completes the reason of an unknown node with when the
// request was sent and what it may have cost.
func describeUnknown(n *Node) {
	if n.Action != ActionUnknown || n.Prior == nil || n.Prior.Status != state.StatusIntent {
		return
	}
	cost := "its price is not known"
	if n.Cost.Priced {
		cost = fmt.Sprintf("if charged, it cost about $%d.%02d", n.Cost.Cents/100, n.Cost.Cents%100)
	}
	n.Reason = fmt.Sprintf("a generate request for %s was sent at %s but its answer was never recorded (%s). "+
		"The API cannot be asked whether it was charged, so apply will not resend it on its own: "+
		"use -replace %s to generate it again",
		n.Prior.Model, n.Prior.IntentAt.UTC().Format(time.RFC3339), cost, n.Addr)
}
