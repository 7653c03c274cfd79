package state

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSamplesAddIntervalKeepsTheNewest(t *testing.T) {
	old := make([]float64, 10)
	for i := range old {
		old[i] = float64(i)
	}
	tests := map[string]struct {
		seconds   []float64
		add       int
		wantSecs  int
		wantFirst Interval
	}{
		"room for all":           {seconds: old, add: 40, wantSecs: 10, wantFirst: Interval{Lo: 0, Hi: 1}},
		"old seconds go first":   {seconds: old, add: 45, wantSecs: 5, wantFirst: Interval{Lo: 0, Hi: 1}},
		"then the oldest ranges": {seconds: old, add: MaxSamples + 3, wantSecs: 0, wantFirst: Interval{Lo: 3, Hi: 4}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &Samples{Seconds: append([]float64(nil), tc.seconds...)}
			for i := range tc.add {
				s.AddInterval(float64(i), float64(i+1))
			}
			if got := len(s.Seconds) + len(s.Intervals); got > MaxSamples {
				t.Errorf("holds %d observations, want at most %d", got, MaxSamples)
			}
			if got := len(s.Seconds); got != tc.wantSecs {
				t.Errorf("kept %d exact seconds, want %d", got, tc.wantSecs)
			}
			if diff := cmp.Diff(tc.wantFirst, s.Intervals[0]); diff != "" {
				t.Errorf("oldest interval kept (-want +got):\n%s", diff)
			}
			if last := s.Intervals[len(s.Intervals)-1]; last.Hi != float64(tc.add) {
				t.Errorf("newest interval %v, want hi %d", last, tc.add)
			}
		})
	}
}

func TestSamplesJSON(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Samples
	}{
		"a state file from before intervals": {in: `{"seconds":[61.5,70.25]}`, want: Samples{Seconds: []float64{61.5, 70.25}}},
		"intervals":                          {in: `{"intervals":[{"lo":3,"hi":9.5},{"lo":0,"hi":4}]}`, want: Samples{Intervals: []Interval{{3, 9.5}, {0, 4}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got Samples
			if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.in {
				t.Errorf("encoded %s, want %s", out, tc.in)
			}
		})
	}
}

func TestCloneCopiesIntervals(t *testing.T) {
	s := New()
	s.Models = map[string]*ModelStats{"m": {Latency: map[string]*Samples{"8": {Intervals: []Interval{{1, 2}}}}}}
	c := s.Clone()
	c.Models["m"].Latency["8"].Intervals[0].Hi = 99
	if got := s.Models["m"].Latency["8"].Intervals[0].Hi; got != 2 {
		t.Errorf("the original's interval changed with its clone's: hi = %v", got)
	}
}
