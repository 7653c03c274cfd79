package executor

import (
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
)

func TestNextPoll(t *testing.T) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	learned := state.New()
	learned.Models = map[string]*state.ModelStats{"m": {Latency: map[string]*state.Samples{
		"8": {Seconds: []float64{30, 40, 50, 60, 70, 80, 90, 100, 110, 120}}}}}
	tests := map[string]struct {
		st    *state.State
		known time.Duration
		idle  bool
		want  time.Duration
	}{
		"learned, budget short: 0.9 quantile":   {st: learned, want: sec(111)},
		"learned, budget idle: 0.75 quantile":   {st: learned, idle: true, want: sec(97.5)},
		"learned, conditional on still running": {st: learned, known: sec(100), want: sec(119)},
		"learned, idle never probes":            {st: learned, known: sec(10), idle: true, want: sec(97.5)},
		"past every sample: backoff":            {st: learned, known: sec(200), want: sec(230)},
		"prior, budget short: no probing":       {st: state.New(), want: sec(156)},
		"prior, budget idle: probe ladder x1.5": {st: state.New(), known: sec(12), idle: true, want: sec(18)},
		"prior, idle, first probe after 3 s":    {st: state.New(), idle: true, want: sec(3)},
		"never sooner than 3 s after last seen": {st: learned, known: sec(119.5), want: sec(122.5)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLatencies(tc.st)
			if got := l.NextPoll(spec.KindVideo, "m", "8", tc.known, tc.idle); got != tc.want {
				t.Errorf("NextPoll(known %v, idle %v) = %v, want %v", tc.known, tc.idle, got, tc.want)
			}
		})
	}
}

func TestLatencySample(t *testing.T) {
	tests := map[string]struct{ lo, hi, want time.Duration }{
		"done at first poll records the poll time": {lo: 0, hi: 90 * time.Second, want: 90 * time.Second},
		"a bracket records its midpoint":           {lo: 60 * time.Second, hi: 90 * time.Second, want: 75 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := latencySample(tc.lo, tc.hi); got != tc.want {
				t.Errorf("latencySample(%v, %v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
			}
		})
	}
}
