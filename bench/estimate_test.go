package bench

import (
	"math"
	"testing"
)

func TestSampleQuantile(t *testing.T) {
	xs := []float64{10, 20, 30, 40, 50}
	for _, tc := range []struct{ q, want float64 }{
		{0, 10}, {0.25, 20}, {0.5, 30}, {0.6, 34}, {0.9, 46}, {1, 50},
	} {
		if got := sampleQuantile(xs, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%.2f of %v = %v, want %v", tc.q, xs, got, tc.want)
		}
	}
	if got := sampleQuantile([]float64{7}, 0.9); got != 7 {
		t.Errorf("q0.9 of one value 7 = %v", got)
	}
}

// The errors are taken against the right reference.
func TestEstimateCheckErrors(t *testing.T) {
	e := EstimateCheck{
		Estimated: []float64{22, 33},
		Sample:    []float64{20, 30},
		True:      []float64{20, 40},
	}
	for name, tc := range map[string]struct{ got, want float64 }{
		"estimate vs true":   {e.MaxError(), 0.175}, // 33 against 40
		"estimate vs sample": {e.SampleError(), 0.1},
		"sample vs true":     {e.SamplingError(), 0.25},
	} {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", name, tc.got, tc.want)
		}
	}
}

// A sample of 12 latencies, seen exactly, misses the true quantiles by
// more than 10% most of the time; thousands of them almost never do.
func TestFloorShrinksWithTheSample(t *testing.T) {
	small, smallErr := Floor(12, 15, 45, 0.10, 4000, 1)
	big, bigErr := Floor(5000, 15, 45, 0.10, 200, 1)
	if small < 0.1 || small > 0.35 {
		t.Errorf("12 exact latencies within 10%% in %.2f of draws, want about 0.2", small)
	}
	if smallErr < 0.1 || smallErr > 0.25 {
		t.Errorf("12 exact latencies: median largest error %.2f, want about 0.16", smallErr)
	}
	if big < 0.99 || bigErr > 0.02 {
		t.Errorf("5000 exact latencies within 10%% in %.2f of draws, median error %.3f; want all, under 2%%", big, bigErr)
	}
	if again, _ := Floor(12, 15, 45, 0.10, 4000, 1); again != small {
		t.Errorf("Floor is not deterministic for a seed: %v then %v", small, again)
	}
}
