package executor

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
)

// pollTask polls a task of latency lat on a schedule that wants a poll
// every 3-5 s, where a quarter of the polls wait up to 15 s for the rate
// limit before they actually go out. It returns the interval the polls
// observe (processing at the last send before completion, done at the first
// send after it) and, for contrast, the interval a client would record if
// it took the time a poll was wanted for the time it went out.
func pollTask(rng *rand.Rand, lat float64) (actual, wanted state.Interval) {
	sent, lo := 0.0, 0.0
	for {
		planned := sent + 3 + 2*rng.Float64()
		wait := 0.0
		if rng.Float64() < 0.25 {
			wait = 15 * rng.Float64()
		}
		sent = planned + wait // when the poll actually went out
		if sent >= lat {
			return state.Interval{Lo: lo, Hi: sent}, state.Interval{Lo: lo, Hi: math.Max(planned, lo)}
		}
		lo = sent
	}
}

// empirical is the type-7 quantile of sorted s.
func empirical(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

// TestTurnbullRecoversQuantilesFromDisturbedPolls runs 40 seeded "runs" of
// 12 videos of 15-45 s and compares the estimated quantiles with the true
// ones of each run's latencies. Polled every 3-5 s, one run of 12 tasks
// cannot pin a quantile closer than its polls do, so the test holds the
// typical run (the median over runs of the relative error) within 10% and
// the estimate unbiased (median signed error within 5%); the estimate that
// dates polls when they were wanted must fail the same test.
func TestTurnbullRecoversQuantilesFromDisturbedPolls(t *testing.T) {
	const runs, tasks = 40, 12
	quantiles := []float64{0.25, 0.5, 0.75, 0.9}
	absErr := map[float64][]float64{}
	signed := map[float64][]float64{}
	naive := map[float64][]float64{}
	for seed := uint64(1); seed <= runs; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		var lats []float64
		var actual, wanted []state.Interval
		for range tasks {
			lat := 15 + 30*rng.Float64()
			lats = append(lats, lat)
			a, w := pollTask(rng, lat)
			actual, wanted = append(actual, a), append(wanted, w)
		}
		sort.Float64s(lats)
		d, dn := Turnbull(actual), Turnbull(wanted)
		for _, q := range quantiles {
			want := empirical(lats, q)
			e := (d.Quantile(q) - want) / want
			absErr[q] = append(absErr[q], math.Abs(e))
			signed[q] = append(signed[q], e)
			naive[q] = append(naive[q], (dn.Quantile(q)-want)/want)
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); sort.Float64s(v); return v[len(v)/2] }
	for _, q := range quantiles {
		if got := med(absErr[q]); got > 0.10 {
			t.Errorf("q%.2f: median relative error %.3f, want <= 0.10", q, got)
		}
		if got := med(signed[q]); math.Abs(got) > 0.05 {
			t.Errorf("q%.2f: median signed error %+.3f, want within 0.05 (unbiased)", q, got)
		}
		t.Logf("q%.2f: median |error| %.3f, median error %+.3f; dated when wanted: %+.3f", q, med(absErr[q]), med(signed[q]), med(naive[q]))
	}
	if got := med(naive[0.25]); got > -0.05 {
		t.Errorf("dating polls when wanted: q0.25 median error %+.3f, want biased low (< -0.05); the disturbance does not test anything", got)
	}
}

func TestTurnbull(t *testing.T) {
	tests := map[string]struct {
		obs  []state.Interval
		q    float64
		want float64
	}{
		"exact points are the empirical distribution": {obs: []state.Interval{{Lo: 10, Hi: 10}, {Lo: 20, Hi: 20}, {Lo: 30, Hi: 30}, {Lo: 40, Hi: 40}}, q: 0.5, want: 20},
		"one interval spreads its mass evenly":        {obs: []state.Interval{{Lo: 10, Hi: 20}}, q: 0.5, want: 15},
		// (0, 30] says nothing against (20, 30]: the mass goes where both agree.
		"an uninformative bound follows the informative one": {obs: []state.Interval{{Lo: 0, Hi: 30}, {Lo: 20, Hi: 30}}, q: 0.5, want: 25},
		"disjoint intervals share the mass":                  {obs: []state.Interval{{Lo: 0, Hi: 10}, {Lo: 10, Hi: 20}}, q: 0.75, want: 15},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Turnbull(tc.obs).Quantile(tc.q)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Errorf("Quantile(%v) (-want +got):\n%s", tc.q, diff)
			}
		})
	}
}

func TestCondQuantile(t *testing.T) {
	d := Turnbull([]state.Interval{{Lo: 10, Hi: 10}, {Lo: 20, Hi: 20}, {Lo: 30, Hi: 30}, {Lo: 40, Hi: 40}})
	if got, ok := d.CondQuantile(25, 0.5); !ok || math.Abs(got-30) > 1e-6 {
		t.Errorf("CondQuantile(25, 0.5) = %v, %v; want 30, true", got, ok)
	}
	if _, ok := d.CondQuantile(41, 0.5); ok {
		t.Error("CondQuantile past every observation: ok = true, want false")
	}
}

func TestLatenciesReadOldSecondsAsExactIntervals(t *testing.T) {
	st := state.New()
	st.Models = map[string]*state.ModelStats{"m": {Latency: map[string]*state.Samples{
		"8": {Seconds: []float64{10, 20}, Intervals: []state.Interval{{Lo: 25, Hi: 35}}}}}}
	l := NewLatencies(st)
	d, n := l.Estimate(spec.KindVideo, "m", "8")
	if n != 3 {
		t.Errorf("n = %d, want 3", n)
	}
	if got := d.Quantile(0.5); math.Abs(got-20) > 1e-6 {
		t.Errorf("median = %v, want 20", got)
	}
	l.Observe("m", "8", 40, 50)
	if d, n = l.Estimate(spec.KindVideo, "m", "8"); n != 4 || d.MaxHi() != 50 {
		t.Errorf("after Observe: n = %d, max %v; want 4, 50", n, d.MaxHi())
	}
	if _, n := l.Estimate(spec.KindVideo, "other", "8"); n != 0 {
		t.Errorf("an unseen model: n = %d, want 0 (the prior)", n)
	}
}

// wideObs are the observations a first run leaves when the window forced
// its polls late: nine tasks first polled at 56 s, one seen processing at
// 16 s and done by 23.7 s, one seen processing at 23 s and done by 44.6 s.
func wideObs() []state.Interval {
	obs := []state.Interval{{Lo: 16, Hi: 23.7}, {Lo: 23, Hi: 44.6}}
	for range 9 {
		obs = append(obs, state.Interval{Lo: 0, Hi: 56})
	}
	return obs
}

func TestSpreadKeepsTheDoubtOfWideObservations(t *testing.T) {
	d := Turnbull(wideObs())
	// Every observation holds (23, 23.7]: the maximum likelihood puts all
	// the mass there, though nine tasks may have taken anything up to 56 s.
	if got := d.Quantile(0.9); got > 23.7 {
		t.Fatalf("Turnbull q0.9 = %.2f, want <= 23.7 (the premise of this test)", got)
	}
	// Spread: CDF(t) = (9 t/56 + 2)/11 past 44.6 s, so q0.9 = 56 (9.9-2)/9.
	want := 56 * (0.9*11 - 2) / 9
	if got := d.Spread().Quantile(0.9); math.Abs(got-want) > 1e-6 {
		t.Errorf("Spread q0.9 = %.3f, want %.3f", got, want)
	}
	// Conditional on running at 40 s, the spread estimate still says so.
	if got, ok := d.Spread().CondQuantile(40, 0.5); !ok || got <= 40 || got >= 56 {
		t.Errorf("Spread CondQuantile(40, 0.5) = %.2f, %v; want inside (40, 56)", got, ok)
	}
	// Where the observations are exact, the two agree.
	pts := Turnbull([]state.Interval{{Lo: 10, Hi: 10}, {Lo: 20, Hi: 20}, {Lo: 30, Hi: 30}, {Lo: 40, Hi: 40}})
	for _, q := range []float64{0.25, 0.5, 0.9} {
		if a, b := pts.Quantile(q), pts.Spread().Quantile(q); math.Abs(a-b) > 1e-9 {
			t.Errorf("exact points q%.2f: Turnbull %.3f, Spread %.3f; want equal", q, a, b)
		}
	}
}
