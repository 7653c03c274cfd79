package executor

import (
	"math"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// forecastEvery bounds how often the forecast is computed when nothing
// changed, or in a large run: every event asks for it, and a campaign of
// 10,000 assets emits tens of thousands. In between, the last forecast
// is counted down.
const forecastEvery = time.Second

// forecastSmall is the number of nodes and tasks up to which a change
// (a task starting or ending) is forecast again at once.
const forecastSmall = 1000

// forecast is the scheduler's estimate of the time the run still needs,
// zero when nothing is left. It plays the rest of the run forward on the
// scheduler's own model (see forecastLocked).
func (s *scheduler) forecast(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	sig := [5]int{len(s.tasks), len(s.pending), len(s.limited), len(s.answered), len(s.atOnce)}
	fresh := !s.fcAt.IsZero() && !now.Before(s.fcAt) && now.Sub(s.fcAt) < forecastEvery
	if fresh && (sig == s.fcSig || sig[0]+sig[1]+sig[2] > forecastSmall) {
		return max(0, s.fcEnd.Sub(now))
	}
	s.fcAt, s.fcEnd, s.fcSig = now, now.Add(s.forecastLocked(now)), sig
	return s.fcEnd.Sub(now)
}

// forecastLocked plays the rest of the run forward:
//   - a running task ends after its model's latency given its age;
//   - a node still to submit (waiting in the limiter first, then in
//     dependency order) is sent when its inputs are done (at their median
//     end) and the window has a slot for it, and ends its model's latency
//     later (a text, or an image model that answered at once, ends on its
//     answer); the poll that sees it done needs a slot too;
//   - the window frees slots at the key's rate, after the free ones.
//
// The run ends when the last of them does: the forecast is the median of
// that maximum (the time by which all of them are done with probability
// one half), not the largest median, which a dozen tasks in parallel
// overrun nearly always. The live view counts it down and corrects it as
// tasks end.
func (s *scheduler) forecastLocked(now time.Time) time.Duration {
	slot := s.slotClock(now)
	var ends []pendingEnd
	floor := now // no end before this
	finish := map[string]time.Time{}
	for t := range s.tasks {
		d := s.lat.seenDone(t.kind, t.model, t.key)
		known := math.Max(t.known, seconds(now.Sub(t.submitted)))
		f := now
		if v, ok := d.CondQuantile(known, 0.5); ok {
			f = maxTime(now, t.submitted.Add(duration(v)))
			ends = append(ends, pendingEnd{from: t.submitted, d: d, known: known})
		}
		if t.addr != "" {
			finish[t.addr] = f
		}
	}
	polls := len(s.tasks)            // the poll that sees each task done
	for nd, at := range s.answered { // answered, about to be tracked
		if d := s.nodeLatency(nd); d != nil {
			polls++
			finish[nd.n.Addr] = at.Add(duration(d.Quantile(0.5)))
			ends = append(ends, pendingEnd{from: at, d: d})
		}
	}
	k := 0 // submits of the remaining nodes, in the order they go
	for _, nd := range s.remainingLocked() {
		ready := now
		for _, dep := range nd.n.Deps {
			if f, ok := finish[dep]; ok {
				ready = maxTime(ready, f)
			}
		}
		sent := maxTime(ready, slot(k))
		k++
		f := sent
		if d := s.nodeLatency(nd); d != nil {
			polls++
			f = sent.Add(duration(d.Quantile(0.5)))
			ends = append(ends, pendingEnd{from: sent, d: d})
		}
		finish[nd.n.Addr] = f
		floor = maxTime(floor, sent)
	}
	if n := k + polls; n > 0 {
		floor = maxTime(floor, slot(n-1)) // every request needs its slot
	}
	return medianMax(ends, floor).Sub(now)
}

// pendingEnd is one generation still to end: started at from, with a
// latency drawn from d, known to exceed known seconds.
type pendingEnd struct {
	from  time.Time
	d     *Dist
	known float64
}

// cdf is the probability that e has ended by t.
func (e pendingEnd) cdf(t time.Time) float64 {
	x := seconds(t.Sub(e.from))
	f0 := e.d.CDF(e.known)
	if f0 >= 1 {
		return 1
	}
	return math.Max(0, (e.d.CDF(x)-f0)/(1-f0))
}

// medianMax is the earliest time, not before floor, by which every end
// has happened with probability at least one half, the ends taken as
// independent: a bisection on the product of their CDFs.
func medianMax(ends []pendingEnd, floor time.Time) time.Time {
	all := func(t time.Time) bool {
		p := 1.0
		for _, e := range ends {
			if p *= e.cdf(t); p < 0.5 {
				return false
			}
		}
		return true
	}
	if all(floor) {
		return floor
	}
	lo, hi := floor, floor
	for _, e := range ends {
		hi = maxTime(hi, e.from.Add(duration(math.Max(e.d.MaxHi(), e.known))))
	}
	if !all(hi) {
		return hi
	}
	for hi.Sub(lo) > 100*time.Millisecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if all(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// slotClock returns when the k-th request from now (0-based) can go out:
// at once while the window has free slots (and no pause holds), then one
// per Window/perMinute as earlier requests leave it.
func (s *scheduler) slotClock(now time.Time) func(k int) time.Time {
	per := s.lim.PerMinute()
	if per <= 0 {
		return func(int) time.Time { return now }
	}
	st := s.lim.Stats()
	base := maxTime(now, st.PausedUntil)
	free := per - st.InWindow - st.Waiting
	step := xpilot.Window / time.Duration(per)
	return func(k int) time.Time {
		if k < free {
			return base
		}
		return base.Add(time.Duration(k-max(free, 0)+1) * step)
	}
}

// remainingLocked lists the nodes waiting in the limiter (FIFO there,
// they go first) and then the pending ones, each after its inputs.
func (s *scheduler) remainingLocked() []*node {
	byAddr := map[string]*node{}
	for nd := range s.pending {
		byAddr[nd.n.Addr] = nd
	}
	depth := map[*node]int{}
	var depthOf func(nd *node) int
	depthOf = func(nd *node) int {
		if d, ok := depth[nd]; ok {
			return d
		}
		depth[nd] = 0 // a cycle cannot happen in a plan; this ends one anyway
		d := 0
		for _, dep := range nd.n.Deps {
			if up := byAddr[dep]; up != nil {
				d = max(d, depthOf(up)+1)
			}
		}
		depth[nd] = d
		return d
	}
	var out []*node
	for nd := range s.limited {
		out = append(out, nd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n.Addr < out[j].n.Addr })
	var pend []*node
	for _, nd := range byAddr {
		depthOf(nd)
		pend = append(pend, nd)
	}
	sort.Slice(pend, func(i, j int) bool {
		if depth[pend[i]] != depth[pend[j]] {
			return depth[pend[i]] < depth[pend[j]]
		}
		return pend[i].n.Addr < pend[j].n.Addr
	})
	return append(out, pend...)
}

// nodeLatency is the distribution of the time from nd's submit to its
// result: nil for a text (answered at once) or an image model this run
// saw answer at once, else its model's latencies (or the kind's prior).
func (s *scheduler) nodeLatency(nd *node) *Dist {
	n := nd.n
	key := planner.PriceKey(n.Kind, nodeDuration(n))
	if n.Kind == spec.KindText || s.atOnce[group(n.Model, key)] {
		return nil
	}
	return s.lat.seenDone(n.Kind, n.Model, key)
}

// seenDone is the distribution of the time from a submit of model/key to
// the poll that saw it done: the upper ends of the observations, taken as
// exact. It is not the latency (Estimate is), but what the user waits
// for: the poll that sees a task done comes some seconds after it ended.
// With no observation it is the kind's prior, as Estimate's.
func (l *Latencies) seenDone(kind spec.Kind, model, key string) *Dist {
	l.mu.Lock()
	g := group(model, key)
	obs := l.obs[g]
	if c, ok := l.seen[g]; ok && c.n == len(obs) {
		l.mu.Unlock()
		return c.d
	}
	his := make([]state.Interval, len(obs))
	for i, iv := range obs {
		his[i] = state.Interval{Lo: iv.Hi, Hi: iv.Hi}
	}
	l.mu.Unlock()
	if len(his) == 0 {
		d, _ := l.Estimate(kind, model, key)
		return d
	}
	d := Turnbull(his)
	l.mu.Lock()
	if l.seen == nil {
		l.seen = map[string]seenCache{}
	}
	l.seen[g] = seenCache{n: len(his), d: d}
	l.mu.Unlock()
	return d
}

// seenCache is a seenDone distribution and the number of observations it
// was made from.
type seenCache struct {
	n int
	d *Dist
}

// nodeDuration is the video duration a node asks for, as far as the plan
// knows it.
func nodeDuration(n *planner.Node) int {
	if n.Kind != spec.KindVideo {
		return 0
	}
	v, ok := n.Params["duration"]
	if !ok || v == cty.NilVal {
		return planner.DefaultDuration
	}
	if v, _ = v.UnmarkDeep(); v.IsKnown() && !v.IsNull() && v.Type() == cty.Number {
		if f, _ := v.AsBigFloat().Float64(); f > 0 {
			return int(f)
		}
	}
	return planner.DefaultDuration
}

// answeredAtOnce notes that model/key answered a generate request with
// its result (a synchronous image model): its nodes end on their answer.
func (s *scheduler) answeredAtOnce(model, key string) {
	s.mu.Lock()
	s.atOnce[group(model, key)] = true
	s.mu.Unlock()
}

// named gives a running task the address of its node, so that the
// forecast can start its dependents after it; the node's answer is now
// this task.
func (s *scheduler) named(t *task, nd *node) {
	s.mu.Lock()
	t.addr, t.rank = nd.n.Addr, nd.rank
	delete(s.answered, nd)
	s.mu.Unlock()
}

// finished notes that nd's visit ended: nothing of it is left to forecast.
func (s *scheduler) finished(nd *node) {
	s.mu.Lock()
	delete(s.pending, nd)
	delete(s.admitted, nd)
	delete(s.limited, nd)
	delete(s.answered, nd)
	s.mu.Unlock()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
