package xpilot

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xpflow/xpflow/internal/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// waitUntil spins (yielding, never sleeping) until cond holds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 50_000_000 {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}

// drive advances f to each next timer whenever every active caller is
// blocked in l, until done closes.
func drive(f *clock.Fake, l *Limiter, active *atomic.Int64, done chan struct{}) {
	for {
		if !f.WaitForTimers(1, done) {
			return
		}
		for int64(l.Stats().Waiting) != active.Load() {
			select {
			case <-done:
				return
			default:
				runtime.Gosched()
			}
		}
		if next, ok := f.Next(); ok {
			f.Set(next)
		}
	}
}

func TestLimiterSlidingWindowUnderConcurrency(t *testing.T) {
	tests := map[string]struct {
		perMinute, callers, calls int
		wantLast                  time.Duration
	}{
		"10 per minute, 8 callers x 15": {perMinute: 10, callers: 8, calls: 15, wantLast: 11 * time.Minute},
		"30 per minute, 8 callers x 10": {perMinute: 30, callers: 8, calls: 10, wantLast: 2 * time.Minute},
		"7 per minute, 8 callers x 3":   {perMinute: 7, callers: 8, calls: 3, wantLast: 3 * time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			l := NewLimiter(tc.perMinute, f)
			var mu sync.Mutex
			var grants []time.Time
			var active atomic.Int64
			active.Store(int64(tc.callers))
			done := make(chan struct{})
			var wg sync.WaitGroup
			for range tc.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer active.Add(-1)
					for range tc.calls {
						if err := l.Wait(context.Background(), PrioritySubmit); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						grants = append(grants, f.Now())
						mu.Unlock()
					}
				}()
			}
			go drive(f, l, &active, done)
			wg.Wait()
			close(done)

			sort.Slice(grants, func(i, j int) bool { return grants[i].Before(grants[j]) })
			if got, want := len(grants), tc.callers*tc.calls; got != want {
				t.Fatalf("got %d grants, want %d", got, want)
			}
			for i, g := range grants {
				n := 0
				for _, h := range grants[i:] {
					if h.Sub(g) < Window {
						n++
					}
				}
				if n > tc.perMinute {
					t.Fatalf("window starting %v holds %d grants, want <= %d", g.Sub(t0), n, tc.perMinute)
				}
			}
			var atStart int
			for _, g := range grants {
				if g.Equal(t0) {
					atStart++
				}
			}
			if diff := cmp.Diff(tc.perMinute, atStart); diff != "" {
				t.Errorf("grants at once at start (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLast, grants[len(grants)-1].Sub(t0)); diff != "" {
				t.Errorf("time of the last grant (-want +got):\n%s", diff)
			}
		})
	}
}

// fill takes every slot of l at the current time.
func fill(t *testing.T, l *Limiter) {
	t.Helper()
	for range l.PerMinute() {
		if err := l.Wait(context.Background(), PrioritySubmit); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLimiterPriorityOrder(t *testing.T) {
	tests := map[string]struct {
		arrivals []Priority
		want     []string
	}{
		"poll overtakes earlier submits": {
			arrivals: []Priority{PrioritySubmit, PrioritySubmit, PriorityPoll},
			want:     []string{"2:poll", "0:submit", "1:submit"},
		},
		"leaf polls wait for submits": {
			arrivals: []Priority{PriorityLeafPoll, PrioritySubmit, PriorityPoll, PriorityLeafPoll},
			want:     []string{"2:poll", "1:submit", "0:leaf-poll", "3:leaf-poll"},
		},
		"priority then FIFO": {
			arrivals: []Priority{PrioritySubmit, PriorityModels, PriorityPoll, PrioritySubmit, PriorityPoll},
			want:     []string{"2:poll", "4:poll", "1:models", "0:submit", "3:submit"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			l := NewLimiter(1, f)
			fill(t, l)
			order := make(chan string, len(tc.arrivals))
			for i, p := range tc.arrivals {
				go func() {
					if err := l.Wait(context.Background(), p); err != nil {
						t.Error(err)
					}
					order <- itoaTest(i) + ":" + p.String()
				}()
				waitUntil(t, func() bool { return l.Stats().Waiting == i+1 })
			}
			var got []string
			for range tc.arrivals {
				f.Advance(Window)
				got = append(got, <-order)
				// Each advance frees exactly one slot.
				select {
				case extra := <-order:
					t.Fatalf("two grants in one window: %s after %v", extra, got)
				default:
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("grant order (-want +got):\n%s", diff)
			}
		})
	}
}

func itoaTest(i int) string { return string(rune('0' + i)) }

func TestLimiterPause(t *testing.T) {
	tests := map[string]struct {
		full      bool            // window full before the caller queues
		pauses    []time.Duration // relative to t0, applied in order
		wantGrant time.Duration
	}{
		"pause delays an open limiter":    {pauses: []time.Duration{30 * time.Second}, wantGrant: 30 * time.Second},
		"shorter pause never shortens":    {pauses: []time.Duration{40 * time.Second, 10 * time.Second}, wantGrant: 40 * time.Second},
		"longer pause extends":            {pauses: []time.Duration{10 * time.Second, 50 * time.Second}, wantGrant: 50 * time.Second},
		"pause beyond the window wins":    {full: true, pauses: []time.Duration{90 * time.Second}, wantGrant: 90 * time.Second},
		"window beyond the pause wins":    {full: true, pauses: []time.Duration{20 * time.Second}, wantGrant: Window},
		"pause holds a queued caller too": {full: true, pauses: []time.Duration{61 * time.Second}, wantGrant: 61 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			l := NewLimiter(1, f)
			if tc.full {
				fill(t, l)
			} else {
				for _, p := range tc.pauses {
					l.Pause(t0.Add(p))
				}
			}
			granted := make(chan time.Time, 1)
			go func() {
				if err := l.Wait(context.Background(), PriorityPoll); err != nil {
					t.Error(err)
				}
				granted <- f.Now()
			}()
			waitUntil(t, func() bool { return l.Stats().Waiting == 1 })
			if tc.full {
				for _, p := range tc.pauses {
					l.Pause(t0.Add(p))
				}
			}
			if next, ok := f.Next(); !ok || !next.Equal(t0.Add(tc.wantGrant)) {
				t.Fatalf("wake-up timer at +%v (armed %v), want +%v", next.Sub(t0), ok, tc.wantGrant)
			}
			f.Advance(tc.wantGrant - time.Millisecond)
			select {
			case at := <-granted:
				t.Fatalf("granted at +%v, too early", at.Sub(t0))
			default:
			}
			f.Advance(time.Millisecond)
			if diff := cmp.Diff(tc.wantGrant, (<-granted).Sub(t0)); diff != "" {
				t.Errorf("grant time (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimiterWaitRespectsContext(t *testing.T) {
	f := clock.NewFake(t0)
	l := NewLimiter(1, f)
	fill(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Wait(ctx, PrioritySubmit) }()
	waitUntil(t, func() bool { return l.Stats().Waiting == 1 })
	cancel()
	if got := <-errc; got != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", got)
	}
	want := LimiterStats{InWindow: 1, Waiting: 0, NextLeave: t0.Add(Window)} // the fill grant leaves a window after t0
	if diff := cmp.Diff(want, l.Stats()); diff != "" {
		t.Errorf("stats after cancel (-want +got):\n%s", diff)
	}
	if got := f.Pending(); got != 0 {
		t.Errorf("got %d pending timers after the last waiter left, want 0", got)
	}
}

func TestLimiterSetSharesPerKey(t *testing.T) {
	s := NewLimiterSet(clock.NewFake(t0))
	a, b, c := s.For("xp_one", 5), s.For("xp_one", 9), s.For("xp_two", 7)
	got := []bool{a == b, a == c}
	if diff := cmp.Diff([]bool{true, false}, got); diff != "" {
		t.Errorf("sharing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{5, 7}, []int{a.PerMinute(), c.PerMinute()}); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	for h := range s.limiters {
		if h == "xp_one" || h == "xp_two" {
			t.Errorf("the set holds a raw key")
		}
	}
}

func TestLimiterOpenGrantHoldsTheWindow(t *testing.T) {
	tests := map[string]struct {
		releaseAfter time.Duration // when the in-flight request's answer comes back
		wantGrant    time.Duration // when the next caller is granted
	}{
		"quick answer":          {releaseAfter: 0, wantGrant: Window},
		"slow answer":           {releaseAfter: 5 * time.Second, wantGrant: Window + 5*time.Second},
		"answer after a window": {releaseAfter: 2 * time.Minute, wantGrant: 3 * time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			l := NewLimiter(1, f)
			g, err := l.acquire(context.Background(), PrioritySubmit, true)
			if err != nil {
				t.Fatal(err)
			}
			granted := make(chan time.Time, 1)
			go func() {
				if err := l.Wait(context.Background(), PrioritySubmit); err != nil {
					t.Error(err)
				}
				granted <- f.Now()
			}()
			waitUntil(t, func() bool { return l.Stats().Waiting == 1 })
			if n := f.Pending(); n != 0 {
				t.Fatalf("%d timers armed while the only grant is open, want 0", n)
			}
			f.Advance(tc.releaseAfter)
			l.release(g)
			if next, ok := f.Next(); !ok || !next.Equal(t0.Add(tc.wantGrant)) {
				t.Fatalf("wake-up timer at +%v (armed %v), want +%v", next.Sub(t0), ok, tc.wantGrant)
			}
			f.Set(t0.Add(tc.wantGrant))
			if diff := cmp.Diff(tc.wantGrant, (<-granted).Sub(t0)); diff != "" {
				t.Errorf("grant time (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLimiterLeaving: the scheduler asks how many slots leave the window
// by a time. A request still in flight holds its slot until answered, so
// it never counts.
func TestLimiterLeaving(t *testing.T) {
	f := clock.NewFake(t0)
	l := NewLimiter(30, f)
	for range 3 {
		if err := l.Wait(context.Background(), PrioritySubmit); err != nil {
			t.Fatal(err)
		}
	}
	f.Advance(5 * time.Second)
	for range 2 {
		if err := l.Wait(context.Background(), PrioritySubmit); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.acquire(context.Background(), PrioritySubmit, true); err != nil { // in flight
		t.Fatal(err)
	}
	for _, tc := range []struct {
		by   time.Duration
		n    int
		next time.Duration // 0: none
	}{
		{by: 59 * time.Second, n: 0, next: 60 * time.Second},
		{by: 60 * time.Second, n: 3, next: 65 * time.Second},
		{by: 64 * time.Second, n: 3, next: 65 * time.Second},
		{by: 65 * time.Second, n: 5},
	} {
		n, next := l.Leaving(t0.Add(tc.by))
		var wantNext time.Time
		if tc.next != 0 {
			wantNext = t0.Add(tc.next)
		}
		if n != tc.n || !next.Equal(wantNext) {
			t.Errorf("Leaving(t0+%v) = %d, t0+%v; want %d, t0+%v", tc.by, n, next.Sub(t0), tc.n, tc.next)
		}
	}
	// Once the first three have left, they are gone from the count.
	f.Set(t0.Add(62 * time.Second))
	if n, next := l.Leaving(t0.Add(65 * time.Second)); n != 2 || !next.IsZero() {
		t.Errorf("at 62 s Leaving(t0+65s) = %d, %v; want 2 and none after", n, next)
	}
}
