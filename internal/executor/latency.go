package executor

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
)

// MinPollInterval is the shortest time between two polls of one task.
const MinPollInterval = 3 * time.Second

// pollQuantile is how sure the scheduler wants to be that a task is done
// before it spends a request polling it, when the budget is short. A high
// quantile spends few polls per task at the cost of noticing fast tasks a
// little late. idleQuantile is used when the window has room to spare.
const (
	pollQuantile = 0.9
	idleQuantile = 0.75
)

// minLearned is how many observations of a model replace the prior.
const minLearned = 5

// priors are generic latency samples, in seconds, used until a model has
// been observed: a wide spread so the first run neither polls too early nor
// waits far past a typical task.
var priors = map[spec.Kind][]float64{
	spec.KindVideo: {40, 60, 90, 120, 180},
	spec.KindImage: {5, 10, 15, 20, 30},
	spec.KindText:  {2, 5, 10},
}

// Latencies learns how long generations take per model and price key (the
// video duration) and turns that into poll times. It starts from what the
// state recorded in past runs and learns from this run as tasks complete.
type Latencies struct {
	mu      sync.Mutex           // guards samples
	samples map[string][]float64 // by model + "|" + key, seconds
}

// NewLatencies seeds the estimator from the state's learned latencies.
func NewLatencies(st *state.State) *Latencies {
	l := &Latencies{samples: map[string][]float64{}}
	if st == nil {
		return l
	}
	for model, ms := range st.Models {
		if ms == nil {
			continue
		}
		for key, s := range ms.Latency {
			if s != nil {
				l.samples[model+"|"+key] = append([]float64(nil), s.Seconds...)
			}
		}
	}
	return l
}

// Observe records that a task of model/key was seen done sec seconds after
// it was submitted.
func (l *Latencies) Observe(model, key string, sec float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.samples[model+"|"+key] = append(l.samples[model+"|"+key], sec)
}

// NextPoll returns when, measured from submission, a task last seen
// processing at known should next be polled. It picks the time by which a
// quantile of comparable tasks that outlived known were done: pollQuantile
// when the budget is short, the lower idleQuantile when the window has room
// (idle), trading a few spare requests for noticing tasks sooner. Past every
// known sample it backs off geometrically.
//
// While a model has not been observed often enough, the prior may be off by
// an order of magnitude. Then, if the budget is idle, it also probes on a
// ladder growing by half each step (3 s, 4.5 s, 6.75 s, ...), so a fast
// model is noticed quickly.
func (l *Latencies) NextPoll(kind spec.Kind, model, key string, known time.Duration, idle bool) time.Duration {
	s, learned := l.distribution(kind, model, key)
	e := known.Seconds()
	var later []float64
	for _, v := range s {
		if v > e {
			later = append(later, v)
		}
	}
	next := e + backoff(e)
	if len(later) > 0 {
		q := pollQuantile
		if idle {
			q = idleQuantile
		}
		next = quantile(later, q)
	}
	if idle && !learned {
		if probe := math.Max(1.5*e, e+MinPollInterval.Seconds()); probe < next {
			next = probe
		}
	}
	d := time.Duration(next * float64(time.Second))
	if d < known+MinPollInterval {
		d = known + MinPollInterval
	}
	return d
}

// backoff is the wait past every known sample: a quarter of the time spent
// so far, between 3 and 30 seconds.
func backoff(elapsed float64) float64 {
	b := elapsed / 4
	if b < MinPollInterval.Seconds() {
		b = MinPollInterval.Seconds()
	}
	if b > 30 {
		b = 30
	}
	return b
}

// distribution returns the sorted samples to plan with, and whether they
// are learned rather than (partly) the prior.
func (l *Latencies) distribution(kind spec.Kind, model, key string) ([]float64, bool) {
	l.mu.Lock()
	learned := append([]float64(nil), l.samples[model+"|"+key]...)
	l.mu.Unlock()
	if len(learned) >= minLearned {
		sort.Float64s(learned)
		return learned, true
	}
	s := append(learned, priors[kind]...)
	sort.Float64s(s)
	return s, false
}

// quantile returns the q-quantile of sorted s by linear interpolation.
func quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(i)
	return s[i] + frac*(s[i+1]-s[i])
}
