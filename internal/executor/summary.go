package executor

import "github.com/xpflow/xpflow/internal/planner"

// summary collects the outcome of every node once all are done.
func (a *applier) summary() *Summary {
	s := &Summary{EstimatedCents: a.plan.EstimatedCents, Unpriced: a.plan.Unpriced,
		PerModel: map[string]*ModelCost{}, Requests: a.opts.Client.Requests(),
		Wall: a.clock.Now().Sub(a.start)}
	select {
	case <-a.stopCh:
		s.Interrupted = true
	default:
	}
	short := &Shortfall{}
	for _, nd := range a.nodes {
		n := nd.n
		s.Assets = append(s.Assets, AssetResult{Addr: n.Addr, Outcome: nd.outcome, Message: nd.message,
			CostCents: nd.cost, Model: n.Model, ByOther: nd.byOther})
		s.ActualCents += nd.cost
		if !n.Excluded && n.Action.Spends() {
			mc := s.PerModel[n.Model]
			if mc == nil {
				mc = &ModelCost{}
				s.PerModel[n.Model] = mc
			}
			mc.Estimated += n.Cost.Cents
			mc.Actual += nd.cost
			mc.Count++
		}
		if nd.notSubmitted {
			addNeed(short, n)
		}
	}
	s.RemainingCents = a.ledger.balance()
	if a.ledger.isStopped() {
		short.AvailableCents = a.ledger.balance()
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
