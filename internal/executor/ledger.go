package executor

import (
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// ledger keeps the credits of one run: what each node cost, what each
// model cost in all, the latest balance, and whether the API said credits
// ran out.
type ledger struct {
	mu          sync.Mutex // guards every field
	stopped     bool       // a generate answered 402
	spent       map[string]int
	remaining   *int // the latest balance known: from the state, then from answers
	balanceSeen bool // remaining was reported by an answer in this run
}

func newLedger(st *state.State) *ledger {
	l := &ledger{spent: map[string]int{}}
	if st != nil && st.Balance != nil {
		c := st.Balance.Cents
		l.remaining = &c
	}
	return l
}

// charge notes what a generate of model cost and the balance it reported.
// Answers to concurrent generates may be handled out of order, and within
// one run the balance only goes down, so the lowest balance reported in
// this run is the latest. (A top-up during the run shows from the next run
// on.)
func (l *ledger) charge(model string, cost, remaining *int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cost != nil {
		l.spent[model] += *cost
	}
	if remaining != nil {
		v := *remaining
		if l.balanceSeen && l.remaining != nil && *l.remaining < v {
			v = *l.remaining
		}
		l.remaining, l.balanceSeen = &v, true
	}
}

// balance returns a copy of the latest balance known, nil if none.
func (l *ledger) balance() *int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.remaining == nil {
		return nil
	}
	v := *l.remaining
	return &v
}

// stop records that the API refused a generate for lack of credits; it
// reports whether this call was the first to do so.
func (l *ledger) stop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := !l.stopped
	l.stopped = true
	return first
}

// isStopped reports whether credits ran out.
func (l *ledger) isStopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// observePrice records in st the balance and what a generate of model cost
// for its price key.
func observePrice(st *state.State, model, key string, cost, remaining *int, at time.Time) {
	if remaining != nil {
		st.Balance = &state.Balance{Cents: *remaining, At: at}
	}
	if cost == nil {
		return
	}
	ms := modelStats(st, model)
	p := ms.Prices[key]
	if p == nil {
		p = &state.Price{}
		ms.Prices[key] = p
	}
	p.Cents, p.Count, p.At = *cost, p.Count+1, at
}

// observeLatency records in st that a task of model/key was processing lo
// seconds after its submit and completed by hi.
func observeLatency(st *state.State, model, key string, lo, hi float64) {
	ms := modelStats(st, model)
	s := ms.Latency[key]
	if s == nil {
		s = &state.Samples{}
		ms.Latency[key] = s
	}
	s.AddInterval(lo, hi)
}

func modelStats(st *state.State, model string) *state.ModelStats {
	if st.Models == nil {
		st.Models = map[string]*state.ModelStats{}
	}
	ms := st.Models[model]
	if ms == nil {
		ms = &state.ModelStats{}
		st.Models[model] = ms
	}
	if ms.Prices == nil {
		ms.Prices = map[string]*state.Price{}
	}
	if ms.Latency == nil {
		ms.Latency = map[string]*state.Samples{}
	}
	return ms
}
