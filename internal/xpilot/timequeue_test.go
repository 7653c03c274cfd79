package xpilot

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestTimeQueueStaysSorted pushes and pops through several growths and
// wrap-arounds of the ring, with some times out of order (a clock stepped
// back): the queue always holds exactly the times a sorted slice would.
func TestTimeQueueStaysSorted(t *testing.T) {
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	var q timeQueue
	var want []time.Time
	for i := range 5000 {
		at := base.Add(time.Duration(i) * time.Second)
		if rng.IntN(10) == 0 {
			at = at.Add(-time.Duration(rng.IntN(30)) * time.Second)
		}
		q.insert(at)
		want = append(want, at)
		slices.SortStableFunc(want, func(a, b time.Time) int { return a.Compare(b) })
		for rng.IntN(3) == 0 && len(want) > 0 {
			if !q.at(0).Equal(want[0]) {
				t.Fatalf("step %d: front %v, want %v", i, q.at(0), want[0])
			}
			q.pop()
			want = want[1:]
		}
	}
	got := make([]time.Time, q.len())
	for i := range got {
		got[i] = q.at(i)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
}

func TestNthEarliest(t *testing.T) {
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := func(secs ...int) []time.Time {
		var out []time.Time
		for _, n := range secs {
			out = append(out, base.Add(time.Duration(n)*time.Second))
		}
		return out
	}
	tests := map[string]struct {
		own, others []time.Time
		n           int
		want        time.Time
	}{
		"own only":        {own: s(1, 2, 3), n: 2, want: s(2)[0]},
		"others only":     {others: s(4, 5), n: 2, want: s(5)[0]},
		"interleaved":     {own: s(1, 4, 6), others: s(2, 3, 5), n: 4, want: s(4)[0]},
		"last of both":    {own: s(1, 9), others: s(2, 3), n: 4, want: s(9)[0]},
		"ties count each": {own: s(2, 2), others: s(2), n: 3, want: s(2)[0]},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var q timeQueue
			for _, at := range tc.own {
				q.insert(at)
			}
			if got := nthEarliest(&q, tc.others, tc.n); !got.Equal(tc.want) {
				t.Errorf("nthEarliest = %v, want %v", got, tc.want)
			}
		})
	}
}
