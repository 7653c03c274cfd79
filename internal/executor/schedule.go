package executor

import (
	"math"
	"time"

	"github.com/xpflow/xpflow/internal/spec"
)

// MinPollInterval is the shortest time between two polls of one task.
const MinPollInterval = 3 * time.Second

// Quantiles the scheduler polls at, of the latency conditional on the task
// still running at its last poll. A task that others wait on is polled
// sooner: its dependents cannot start before it is seen done, while a
// finished leaf only waits to be noticed. Probes, which spend only the
// window's slack, go at the median.
const (
	leafQuantile  = 0.9
	feedsQuantile = 0.75
	probeQuantile = 0.5
	// minProbeQuantile is the lowest quantile probes go at, when the
	// window has many spare slots per waiting task.
	minProbeQuantile = 0.1
)

// tailGuard is how far past the slowest observation (the midpoint of its
// interval) the scheduler first polls while fewer than minLearned tasks of
// a model were seen: a handful of fast observations must not make it poll
// the rest too early.
const tailGuard = 1.5

// While the window has no slack, a due poll that answers processing makes
// some request wait for a slot to leave the window. Until minLearned
// tasks of a model were seen, such a poll waits for a confident time: the
// tightQuantile (tightFeedsQuantile for a task others wait on) and
// tightTailGuard times the slowest observation, never later than just
// before the next slot leaves (see scheduler.tightDueLocked).
const (
	tightQuantile      = 0.97
	tightFeedsQuantile = 0.9
	tightTailGuard     = tailGuard * tailGuard
)

// ladderStep is the growth of the learning ladder: while nothing is known
// of a model, its oldest task is polled at ages growing by half.
const ladderStep = 1.5

// fineStep is the growth of the scout's probes between ladder rungs, while
// most of the window is spare.
const fineStep = 1.2

// ladderStart is the first rung of the learning ladder of kind: a tenth of
// its fastest prior, and never under MinPollInterval.
func ladderStart(kind spec.Kind) float64 {
	start := math.Inf(1)
	for _, v := range priors[kind] {
		start = math.Min(start, v/10)
	}
	if math.IsInf(start, 1) {
		start = 0
	}
	return math.Max(start, MinPollInterval.Seconds())
}

// rungAbove returns the first rung of kind's ladder above age seconds.
func rungAbove(kind spec.Kind, age float64) float64 {
	r := ladderStart(kind)
	for r <= age {
		r = math.Max(r*ladderStep, r+MinPollInterval.Seconds())
	}
	return r
}

// backoff is the wait past every observation: a quarter of the time spent
// so far, between 3 and 30 seconds.
func backoff(elapsed float64) float64 {
	return math.Min(math.Max(elapsed/4, MinPollInterval.Seconds()), 30)
}

// ageAt returns the age (seconds since submit) at quantile q of d's
// latency given that a task was seen processing at age known. Past
// everything d holds it is frac of the backoff after known: the whole of
// it for a due poll, the probe's quantile of it for a probe, so that a
// spare window does not leave the slowest task unpolled for the whole
// backoff.
func ageAt(d *Dist, known, q, frac float64) float64 {
	if v, ok := d.CondQuantile(known, q); ok {
		return v
	}
	return known + frac*backoff(known)
}

// nextPoll returns the age (seconds since submit) at which a task last seen
// processing at age known should next be polled, at quantile q of the
// estimate d built from n observations.
//
// Past every observation it backs off geometrically. While n < minLearned
// it polls no sooner than guard times the slowest observation (its
// interval's midpoint).
func nextPoll(d *Dist, n int, known, q, guard float64) float64 {
	v := ageAt(d, known, q, 1)
	if n > 0 && n < minLearned {
		if at := guard * d.SlowestMid(); known < at {
			v = math.Max(v, at)
		}
	}
	return math.Max(v, known+MinPollInterval.Seconds())
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func duration(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }
