package bench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBound(t *testing.T) {
	s := time.Second
	video := func(addr string, l time.Duration, deps ...string) BoundTask {
		return BoundTask{Addr: addr, Async: true, Latency: l, Deps: deps}
	}
	many := func(n int, l time.Duration) []BoundTask {
		var ts []BoundTask
		for i := 0; i < n; i++ {
			ts = append(ts, video(string(rune('a'+i%26))+string(rune('a'+i/26)), l))
		}
		return ts
	}
	tests := map[string]struct {
		tasks []BoundTask
		want  Bounds
	}{
		"one video is its latency": {
			tasks: []BoundTask{video("v", 90*s)},
			want:  Bounds{Requests: 2, Pairing: 90 * s, Path: 90 * s, Max: 90 * s},
		},
		"15 videos fill one window exactly": {
			tasks: many(15, 40*s),
			want:  Bounds{Requests: 30, Pairing: 40 * s, Path: 40 * s, Max: 40 * s},
		},
		"16 videos need a second window": {
			tasks: many(16, 40*s),
			want:  Bounds{Requests: 32, Window: 60 * s, Pairing: 40 * s, Path: 40 * s, Max: 60 * s},
		},
		"31 submits: the 31st waits a window and adds its latency": {
			tasks: many(31, 50*s),
			want:  Bounds{Requests: 62, Window: 120 * s, Pairing: 110 * s, Path: 50 * s, Max: 120 * s},
		},
		"pairing gives the longest latency the first slot": {
			tasks: append(many(30, 10*s), video("long", 100*s)),
			want:  Bounds{Requests: 62, Window: 120 * s, Pairing: 100 * s, Path: 100 * s, Max: 120 * s},
		},
		"a chain adds its latencies, sync steps add nothing": {
			tasks: []BoundTask{
				{Addr: "text"},
				video("image", 15*s, "text"),
				video("video", 80*s, "image"),
			},
			want: Bounds{Requests: 5, Pairing: 80 * s, Path: 95 * s, Max: 95 * s},
		},
		"unknown deps are ignored": {
			tasks: []BoundTask{video("v", 30*s, "gone")},
			want:  Bounds{Requests: 2, Pairing: 30 * s, Path: 30 * s, Max: 30 * s},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Bound(tc.tasks, 30)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Bound (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBoundCycle(t *testing.T) {
	_, err := Bound([]BoundTask{{Addr: "a", Deps: []string{"b"}}, {Addr: "b", Deps: []string{"a"}}}, 30)
	if err == nil {
		t.Error("got no error for a cycle, want one")
	}
}

// TestSuite runs the whole scheduler suite; it takes about half a minute,
// so it runs only with XPFLOW_BENCH=1.
func TestSuite(t *testing.T) {
	if testing.Short() || !benchEnabled() {
		t.Skip("set XPFLOW_BENCH=1 to run the scheduler suite")
	}
	rows, err := RunSuite(t.Context(), Config{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Xpflow.Limited != 0 || r.Peer.Limited != 0 {
			t.Errorf("%s: got %d/%d 429s, want none", r.Name(), r.Xpflow.Limited, r.Peer.Limited)
		}
	}
}
