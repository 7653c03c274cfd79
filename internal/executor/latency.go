package executor

import (
	"math"
	"sort"
	"sync"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
)

// minLearned is how many completed observations of a model and key make
// its estimate trusted on its own; below it the scheduler guards against a
// tail it has not seen yet (see nextPoll).
const minLearned = 5

// priors are generic latencies, in seconds, used while a model and key have
// no observation at all. They may be wrong by 10x either way: the first
// run learns the model's real latency with a ladder of polls (see
// probeRung) rather than trusting them.
var priors = map[spec.Kind][]float64{
	spec.KindVideo: {40, 60, 90, 120, 180},
	spec.KindImage: {5, 10, 15, 20, 30},
	spec.KindText:  {2, 5, 10},
}

// Latencies holds the interval-censored latency observations per model and
// price key (the video duration): those the state recorded in past runs and
// those of this run. Estimate turns them into a distribution.
type Latencies struct {
	mu    sync.Mutex                  // guards obs, cache and seen
	obs   map[string][]state.Interval // by group, seconds since submit
	cache map[string]*Dist            // by group; dropped by Observe
	seen  map[string]seenCache        // by group: seenDone's, made from n observations
}

// group is the key of one model and price key.
func group(model, key string) string { return model + "|" + key }

// NewLatencies seeds the observations from the state. Exact seconds of old
// state files count as the interval [s, s].
func NewLatencies(st *state.State) *Latencies {
	l := &Latencies{obs: map[string][]state.Interval{}, cache: map[string]*Dist{}}
	if st == nil {
		return l
	}
	for model, ms := range st.Models {
		if ms == nil {
			continue
		}
		for key, s := range ms.Latency {
			if s == nil {
				continue
			}
			g := group(model, key)
			for _, v := range s.Seconds {
				l.obs[g] = append(l.obs[g], state.Interval{Lo: v, Hi: v})
			}
			for _, iv := range s.Intervals {
				if iv.Hi >= iv.Lo && iv.Lo >= 0 && !math.IsInf(iv.Hi, 0) && !math.IsNaN(iv.Hi) {
					l.obs[g] = append(l.obs[g], iv)
				}
			}
		}
	}
	return l
}

// Observe records that a task of model/key was seen processing lo seconds
// after its submit (0 if never) and completed by hi.
func (l *Latencies) Observe(model, key string, lo, hi float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := group(model, key)
	l.obs[g] = append(l.obs[g], state.Interval{Lo: lo, Hi: hi})
	delete(l.cache, g)
}

// Estimate returns the latency distribution of model/key estimated from
// its observations, and how many there are. With none it returns the
// prior of kind (n = 0).
func (l *Latencies) Estimate(kind spec.Kind, model, key string) (d *Dist, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := group(model, key)
	obs := l.obs[g]
	if len(obs) == 0 {
		pr := priors[kind]
		ivs := make([]state.Interval, len(pr))
		for i, v := range pr {
			ivs[i] = state.Interval{Lo: v, Hi: v}
		}
		return Turnbull(ivs), 0
	}
	if d := l.cache[g]; d != nil {
		return d, len(obs)
	}
	d = Turnbull(obs)
	l.cache[g] = d
	return d, len(obs)
}

// Dist is a latency distribution: masses on disjoint intervals (lo, hi],
// spread evenly within each. An interval with lo == hi is a point.
type Dist struct {
	parts      []part // sorted by lo
	maxHi      float64
	slowestMid float64 // the largest midpoint of an observation
	// spread is the estimate that spreads each observation evenly over
	// its own interval (see Spread); nil for a Dist that is one itself.
	spread *Dist
}

type part struct {
	lo, hi, mass float64
}

// emIterations bounds the self-consistency iterations of Turnbull.
const emIterations = 500

// Turnbull estimates a distribution from interval-censored observations
// (lo, hi], an exact one having lo == hi: the nonparametric maximum
// likelihood estimate of Turnbull (1976), computed by self-consistency
// iterations on the innermost intervals. Within an innermost interval the
// data say nothing of where the mass lies; Dist spreads it evenly.
func Turnbull(obs []state.Interval) *Dist {
	if len(obs) == 0 {
		return &Dist{}
	}
	inner := innermost(obs)
	// a[i] lists the innermost intervals inside observation i.
	a := make([][]int, len(obs))
	for i, o := range obs {
		for j, in := range inner {
			if contains(o, in) {
				a[i] = append(a[i], j)
			}
		}
	}
	p := make([]float64, len(inner))
	for j := range p {
		p[j] = 1 / float64(len(inner))
	}
	next := make([]float64, len(inner))
	for it := 0; it < emIterations; it++ {
		clear(next)
		for i := range obs {
			sum := 0.0
			for _, j := range a[i] {
				sum += p[j]
			}
			if sum == 0 {
				continue
			}
			for _, j := range a[i] {
				next[j] += p[j] / sum
			}
		}
		delta := 0.0
		for j := range p {
			v := next[j] / float64(len(obs))
			delta = math.Max(delta, math.Abs(v-p[j]))
			p[j] = v
		}
		if delta < 1e-9 {
			break
		}
	}
	d := &Dist{spread: &Dist{}}
	for _, o := range obs {
		d.slowestMid = math.Max(d.slowestMid, (o.Lo+o.Hi)/2)
		d.spread.parts = append(d.spread.parts, part{lo: o.Lo, hi: o.Hi, mass: 1 / float64(len(obs))})
		d.spread.maxHi = math.Max(d.spread.maxHi, o.Hi)
	}
	d.spread.slowestMid = d.slowestMid
	for j, in := range inner {
		if p[j] > 1e-12 {
			d.parts = append(d.parts, part{lo: in.Lo, hi: in.Hi, mass: p[j]})
		}
		d.maxHi = math.Max(d.maxHi, in.Hi)
	}
	return d
}

// contains reports whether innermost interval in lies within observation o.
func contains(o, in state.Interval) bool {
	if o.Lo == o.Hi {
		return in.Lo == o.Lo && in.Hi == o.Hi
	}
	return in.Lo >= o.Lo && in.Hi <= o.Hi && !(in.Lo == in.Hi && in.Lo == o.Lo)
}

// innermost returns Turnbull's innermost intervals: each (l, r] with l a
// left end and r a right end of the observations, and no other end strictly
// between them. An exact observation s is its own point [s, s].
func innermost(obs []state.Interval) []state.Interval {
	type end struct {
		at   float64
		left bool
	}
	var ends []end
	points := map[float64]bool{}
	for _, o := range obs {
		if o.Lo == o.Hi {
			points[o.Lo] = true
			continue
		}
		ends = append(ends, end{o.Lo, true}, end{o.Hi, false})
	}
	// At equal times a right end (closed) sorts before a left end (open):
	// (0, 5] and (5, 9] do not overlap.
	sort.Slice(ends, func(i, j int) bool {
		if ends[i].at != ends[j].at {
			return ends[i].at < ends[j].at
		}
		return !ends[i].left && ends[j].left
	})
	var out []state.Interval
	for i := 0; i+1 < len(ends); i++ {
		if ends[i].left && !ends[i+1].left {
			out = append(out, state.Interval{Lo: ends[i].at, Hi: ends[i+1].at})
		}
	}
	for p := range points {
		out = append(out, state.Interval{Lo: p, Hi: p})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Lo != out[j].Lo {
			return out[i].Lo < out[j].Lo
		}
		return out[i].Hi < out[j].Hi
	})
	return out
}

// CDF returns the estimated probability that a latency is at most t
// seconds.
func (d *Dist) CDF(t float64) float64 {
	f := 0.0
	for _, p := range d.parts {
		switch {
		case t >= p.hi:
			f += p.mass
		case t > p.lo:
			f += p.mass * (t - p.lo) / (p.hi - p.lo)
		}
	}
	return math.Min(f, 1)
}

// Quantile returns the smallest t with CDF(t) >= q.
func (d *Dist) Quantile(q float64) float64 {
	if len(d.parts) == 0 {
		return 0
	}
	q = math.Min(math.Max(q, 0), 1)
	// Between breakpoints the CDF rises linearly (inside spread parts) and
	// jumps at point masses.
	var xs []float64
	for _, p := range d.parts {
		xs = append(xs, p.lo, p.hi)
	}
	sort.Float64s(xs)
	prevX, prevF := xs[0], d.CDF(xs[0])
	if prevF >= q {
		return prevX
	}
	for _, x := range xs[1:] {
		if x == prevX {
			continue
		}
		dens := d.density((prevX + x) / 2)
		if rise := prevF + dens*(x-prevX); dens > 0 && rise >= q {
			return prevX + (q-prevF)/dens
		}
		f := d.CDF(x)
		if f >= q-1e-12 {
			return x
		}
		prevX, prevF = x, f
	}
	return xs[len(xs)-1]
}

// density is the slope of the CDF at t, where no point mass lies.
func (d *Dist) density(t float64) float64 {
	v := 0.0
	for _, p := range d.parts {
		if p.hi > p.lo && t > p.lo && t < p.hi {
			v += p.mass / (p.hi - p.lo)
		}
	}
	return v
}

// CondQuantile returns the q-quantile of the latencies that exceed known
// seconds. ok is false when the estimate holds no mass beyond known: the
// task has outlived everything observed.
func (d *Dist) CondQuantile(known, q float64) (float64, bool) {
	f0 := d.CDF(known)
	if f0 >= 1-1e-9 {
		return 0, false
	}
	return math.Max(d.Quantile(f0+q*(1-f0)), known), true
}

// Spread returns the estimate that spreads each observation evenly over
// its own interval, its parts overlapping. Where the observations are
// narrow it matches d. Where many are wide, d is the maximum likelihood
// estimate and puts all their mass where they overlap: polls that all
// went late (0, 56] and one seen at (23, 24] make d say every task takes
// 23-24 s. Spread keeps the doubt the observations hold, so its upper
// quantiles are never falsely early. Spread of a Dist built by hand
// (without Turnbull) is d itself.
func (d *Dist) Spread() *Dist {
	if d.spread == nil {
		return d
	}
	return d.spread
}

// MaxHi is the largest upper end of the observations.
func (d *Dist) MaxHi() float64 { return d.maxHi }

// SlowestMid is the largest midpoint of an observation's interval.
func (d *Dist) SlowestMid() float64 { return d.slowestMid }
