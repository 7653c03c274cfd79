package executor

import "github.com/xpflow/xpflow/internal/planner"

// summary collects the outcome of every node once all are done.
func (r *run) summary() *Summary {
	s := &Summary{EstimatedCents: r.plan.EstimatedCents, Unpriced: r.plan.Unpriced,
		PerModel: map[string]*ModelCost{}, Requests: r.opts.Client.Requests(),
		Wall: r.clock.Now().Sub(r.start)}
	select {
	case <-r.stopCh:
		s.Interrupted = true
	default:
	}
	short := &Shortfall{}
	for _, nr := range r.order {
		n := nr.node
		s.Assets = append(s.Assets, AssetResult{Addr: n.Addr, Outcome: nr.outcome, Message: nr.message,
			CostCents: nr.cost, Model: n.Model})
		s.ActualCents += nr.cost
		if !n.Excluded && n.Action.Spends() {
			mc := s.PerModel[n.Model]
			if mc == nil {
				mc = &ModelCost{}
				s.PerModel[n.Model] = mc
			}
			mc.Estimated += n.Cost.Cents
			mc.Actual += nr.cost
			mc.Count++
		}
		if nr.notSubmitted {
			addNeed(short, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s.RemainingCents = r.remaining
	if r.creditsStop {
		short.AvailableCents = r.remaining
		s.CreditsShort = short
	}
	return s
}

func addNeed(s *Shortfall, n *planner.Node) {
	if n.Cost.Priced {
		s.NeededCents += n.Cost.Cents
	} else {
		s.UnpricedAssets++
	}
}
