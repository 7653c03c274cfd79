package executor

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/xpflow/xpflow/internal/spec"
)

// maxGate is the longest a submit is held back for the critical path. The
// reserve clears as the higher-ranked work is sent, so the gate opens on
// its own; this bound only makes sure no mistake in that count can stall
// a run. It is long, since a gate that opens when the window slides lets
// a leaf take a slot a chain was waiting for.
const maxGate = 10 * time.Minute

// gate is a submit held back by admit.
type gate struct {
	since  time.Time
	open   chan struct{} // closed when the submit may go to the limiter
	opened bool          // open is closed; guarded by scheduler.mu
}

// rankNodes sets each node's rank: its expected latency (the median of
// its model's estimate, learned or prior; 0 for a text) plus the largest
// rank among the nodes that read from it, the length of the longest chain
// of work that waits on its submit.
func (a *applier) rankNodes() {
	byAddr := make(map[string]*node, len(a.nodes))
	for _, nd := range a.nodes {
		byAddr[nd.addr] = nd
	}
	a.sched.mu.Lock()
	defer a.sched.mu.Unlock()
	for _, nd := range a.nodes {
		// Only a campaign where some submit waits on another has a
		// critical path to hold slots for.
		a.sched.gating = a.sched.gating || (a.sched.pending[nd] && len(nd.deps) > 0)
	}
	// plan.Nodes are in dependency order: walking back, every dependent
	// is ranked before the nodes it reads from.
	for i := len(a.nodes) - 1; i >= 0; i-- {
		nd := a.nodes[i]
		nd.feeds = a.dependents[nd.addr] > 0
		if d := a.sched.nodeLatency(nd); d != nil {
			nd.rank += d.Quantile(0.5)
		}
		for _, dep := range nd.deps {
			if up := byAddr[dep]; up != nil {
				up.rank = math.Max(up.rank, nd.rank)
			}
		}
	}
}

// admit returns when nd's submit may go to the limiter. While the window
// holds few free slots, a submit waits here for the requests that work
// ranked above it is about to send: the submits of higher-ranked nodes
// whose inputs are ready or answered at once, and the next poll of each
// submitted or running task of higher rank that others wait on. Without
// that, independent leaves queued at the start take the window, and the
// critical path waits for it to slide (mixed 60 in scripts/bench.sh
// sched). The polls of nodes not yet submitted are not reserved: the poll
// schedule holds most of them for a confident time, and slots kept for
// them sat empty (measured: 1.33 against 1.28 with them left out). A
// submit with nothing ranked above it about to come or on its way goes at
// once; none waits longer than maxGate; stop or ctx ending lets it go (the
// caller checks why). In a campaign without dependencies admit never
// holds anything.
func (s *scheduler) admit(ctx context.Context, stop <-chan struct{}, nd *node) {
	now := s.clock.Now()
	s.mu.Lock()
	if !s.pending[nd] || s.admissibleLocked(nd, s.reservesLocked()) {
		if s.pending[nd] {
			s.admitted[nd] = true
		}
		s.mu.Unlock()
		return
	}
	g := &gate{since: now, open: make(chan struct{})}
	s.gates[nd] = g
	s.mu.Unlock()
	s.changed()
	select {
	case <-g.open:
	case <-ctx.Done():
	case <-stop:
	}
	s.mu.Lock()
	delete(s.gates, nd)
	s.mu.Unlock()
	s.changed()
}

// openGatesLocked lets through the held submits that may go, highest rank
// first, and returns when it next needs to look (zero if only a change
// can open a gate).
func (s *scheduler) openGatesLocked(now time.Time) time.Time {
	if len(s.gates) == 0 {
		return time.Time{}
	}
	held := make([]*node, 0, len(s.gates))
	for nd := range s.gates {
		held = append(held, nd)
	}
	sort.Slice(held, func(i, j int) bool {
		if held[i].rank != held[j].rank {
			return held[i].rank > held[j].rank
		}
		return s.gates[held[i]].since.Before(s.gates[held[j]].since)
	})
	var wake time.Time
	rs := s.reservesLocked()
	for _, nd := range held {
		g := s.gates[nd]
		if g.opened {
			continue
		}
		deadline := g.since.Add(maxGate)
		if !now.Before(deadline) || !s.pending[nd] || s.admissibleLocked(nd, rs) {
			if s.pending[nd] {
				s.admitted[nd] = true
			}
			close(g.open)
			g.opened = true
			continue
		}
		if wake.IsZero() || deadline.Before(wake) {
			wake = deadline
		}
	}
	if !wake.IsZero() {
		// The reserve may clear when a slot leaves the window.
		if leave := s.lim.Stats().NextLeave; !leave.IsZero() && leave.Before(wake) {
			wake = leave
		}
	}
	return wake
}

// admissibleLocked reports whether nd's submit may go to the limiter now:
// nothing ranked above it is about to come or on its way; or the window
// holds more free slots, counting admitted submits as taken, than the
// reserve of higher-ranked work (see admit); or the limiter is paused and
// holds every request anyway.
func (s *scheduler) admissibleLocked(nd *node, rs reserves) bool {
	per := s.lim.PerMinute()
	if per <= 0 || !s.gating {
		return true
	}
	// With nothing ranked above it about to come or on its way, a submit
	// goes to the limiter at once and waits there, where the live view
	// and the shared window see it wait. An admitted submit of higher
	// rank may not have reached the limiter yet: then a leaf needs a free
	// slot, or it would take that submit's slot.
	reserve := rs.above(nd.rank)
	if reserve == 0 && !s.admittedAboveLocked(nd.rank) {
		return true
	}
	st := s.lim.Stats()
	if s.clock.Now().Before(st.PausedUntil) {
		return true
	}
	free := per - st.InWindow - st.Waiting - len(s.admitted)
	return free > reserve
}

// admittedAboveLocked reports whether a submit ranked above rank was
// admitted and not yet answered.
func (s *scheduler) admittedAboveLocked(rank float64) bool {
	for y := range s.admitted {
		if y.rank > rank {
			return true
		}
	}
	return false
}

// reserves are the requests about to come (see admit), by the rank of the
// work they serve: ranks sorted highest first, and cum[i] the number of
// requests of ranks[0..i].
type reserves struct {
	ranks []float64
	cum   []int
}

// above is the number of reserved requests ranked strictly above rank.
func (r reserves) above(rank float64) int {
	i := sort.Search(len(r.ranks), func(i int) bool { return r.ranks[i] <= rank })
	if i == 0 {
		return 0
	}
	return r.cum[i-1]
}

// reservesLocked counts the requests about to come (see admit): the next
// poll of each running task that others wait on, a poll for each such
// node submitted and not yet tracked, and the submit of each node still
// to submit, not admitted yet, whose inputs are ready soon (see
// readySoonLocked). Empty unless gating is on.
func (s *scheduler) reservesLocked() reserves {
	if !s.gating || s.lim.PerMinute() <= 0 {
		return reserves{}
	}
	type item struct {
		rank float64
		n    int
	}
	var items []item
	running := map[string]bool{}
	for t := range s.tasks {
		if t.addr != "" {
			running[t.addr] = true
		}
		if t.feeds {
			items = append(items, item{t.rank, 1})
		}
	}
	polled := func(y *node) bool { return y.feeds && y.n.Kind != spec.KindText }
	for y := range s.limited {
		if polled(y) {
			items = append(items, item{y.rank, 1})
		}
	}
	for y := range s.answered { // disjoint from limited: see submitting
		if polled(y) {
			items = append(items, item{y.rank, 1})
		}
	}
	memo := map[*node]bool{}
	for y := range s.pending {
		if !s.readySoonLocked(y, running, memo) {
			continue
		}
		if !s.admitted[y] { // an admitted one counts as taken already
			items = append(items, item{y.rank, 1})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].rank > items[j].rank })
	r := reserves{ranks: make([]float64, len(items)), cum: make([]int, len(items))}
	total := 0
	for i, it := range items {
		total += it.n
		r.ranks[i], r.cum[i] = it.rank, total
	}
	return r
}

// readySoonLocked reports whether every input of y is known or about to
// be: none is a running task, and none still needs its submit unless it
// is a text whose own inputs are ready soon (a text is answered at once).
func (s *scheduler) readySoonLocked(y *node, running map[string]bool, memo map[*node]bool) bool {
	if v, ok := memo[y]; ok {
		return v
	}
	ok := true
	for _, dep := range y.deps {
		if running[dep] {
			ok = false
			break
		}
		if d := s.byAddr[dep]; d != nil && s.pending[d] && (d.n.Kind != spec.KindText || !s.readySoonLocked(d, running, memo)) {
			ok = false
			break
		}
	}
	memo[y] = ok
	return ok
}
