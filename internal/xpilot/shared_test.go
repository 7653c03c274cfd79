package xpilot

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/window"
)

// sharedPair returns two limiters of one key as two processes would have
// them: each with its own store on the same ledger file.
func sharedPair(t *testing.T, f *clock.Fake, perMinute int) (a, b *Limiter) {
	t.Helper()
	dir := t.TempDir()
	mk := func() *Limiter {
		s, err := window.OpenFile(dir, window.Name("http://sim", testKey), nil)
		if err != nil {
			t.Fatal(err)
		}
		return NewSharedLimiter(perMinute, f, s, func(w string) { t.Errorf("unexpected warning: %s", w) })
	}
	return mk(), mk()
}

// waitAll starts n Waits at priority p on l and returns a channel that
// receives the fake time of each grant.
func waitAll(t *testing.T, f *clock.Fake, l *Limiter, n int, p Priority) <-chan time.Time {
	got := make(chan time.Time, n)
	for range n {
		go func() {
			if err := l.Wait(context.Background(), p); err != nil {
				t.Error(err)
			}
			got <- f.Now()
		}()
	}
	return got
}

func recv(t *testing.T, ch <-chan time.Time, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for range n {
		out = append(out, (<-ch).Sub(t0))
	}
	return out
}

func TestSharedLimiterCountsOtherProcesses(t *testing.T) {
	f := clock.NewFake(t0)
	a, b := sharedPair(t, f, 5)
	if got := recv(t, waitAll(t, f, a, 3, PrioritySubmit), 3); len(got) != 3 {
		t.Fatal(got)
	}
	f.Advance(10 * time.Second)
	got := waitAll(t, f, b, 4, PrioritySubmit)
	if diff := cmp.Diff([]time.Duration{10 * time.Second, 10 * time.Second}, recv(t, got, 2)); diff != "" {
		t.Errorf("first grants of b (-want +got):\n%s", diff)
	}
	waitUntil(t, func() bool { return b.Stats().Waiting == 2 && f.Pending() > 0 })
	st := b.Stats()
	if diff := cmp.Diff(LimiterStats{InWindow: 5, Waiting: 2, Others: 3, WaitingOnOthers: true,
		NextLeave: t0.Add(window.Window + window.Grace)}, st); diff != "" {
		t.Errorf("b's stats while a fills the window (-want +got):\n%s", diff)
	}
	// a's three leave b's window a Grace after a minute, b's own two at 70 s.
	if n, next := b.Leaving(t0.Add(window.Window + window.Grace)); n != 3 || !next.Equal(t0.Add(70*time.Second)) {
		t.Errorf("b.Leaving(a minute and a Grace) = %d, t0+%v; want 3, t0+70s", n, next.Sub(t0))
	}
	n := <-b.Notes()
	if want := "waiting: 3 requests from other xpflow runs in the last minute"; !n.Waiting || n.Others != 3 || n.String() != want {
		t.Errorf("note = %+v %q, want waiting on 3 others: %q", n, n, want)
	}
	// a's requests leave b's view of the window a Grace after a minute.
	next, _ := f.Next()
	if want := t0.Add(window.Window + window.Grace); !next.Equal(want) {
		t.Errorf("b wakes at t0+%s, want t0+%s", next.Sub(t0), want.Sub(t0))
	}
	f.Set(next)
	if diff := cmp.Diff([]time.Duration{61 * time.Second, 61 * time.Second}, recv(t, got, 2)); diff != "" {
		t.Errorf("later grants of b (-want +got):\n%s", diff)
	}
	if n := <-b.Notes(); n.Waiting {
		t.Errorf("note = %+v, want the wait over", n)
	}
	// a now sees b's four requests: one slot left for it.
	f.Advance(5 * time.Second)
	gotA := waitAll(t, f, a, 2, PrioritySubmit)
	if diff := cmp.Diff([]time.Duration{66 * time.Second}, recv(t, gotA, 1)); diff != "" {
		t.Errorf("a's grant (-want +got):\n%s", diff)
	}
	waitUntil(t, func() bool { return a.Stats().Waiting == 1 })
	if st := a.Stats(); st.Others != 4 || !st.WaitingOnOthers {
		t.Errorf("a's stats = %+v, want 4 others and waiting on them", st)
	}
}

func TestSharedPauseClosesTheKeyForEveryProcess(t *testing.T) {
	f := clock.NewFake(t0)
	a, b := sharedPair(t, f, 30)
	a.Pause(t0.Add(7 * time.Second)) // a saw a 429 with Retry-After 7
	got := waitAll(t, f, b, 1, PrioritySubmit)
	waitUntil(t, func() bool { return f.Pending() > 0 })
	n := <-b.Notes()
	if !n.Waiting || !n.ClosedUntil.Equal(t0.Add(7*time.Second)) || !strings.Contains(n.String(), "refused this key until") {
		t.Errorf("note = %+v %q, want a wait on the 429 until t0+7s", n, n)
	}
	if st := b.Stats(); !st.PausedUntil.Equal(t0.Add(7 * time.Second)) {
		t.Errorf("b's PausedUntil = %v, want t0+7s", st.PausedUntil)
	}
	f.Advance(6 * time.Second)
	select {
	case at := <-got:
		t.Fatalf("b was granted at t0+%s, before the key reopened", at.Sub(t0))
	default:
	}
	f.Advance(time.Second)
	if diff := cmp.Diff([]time.Duration{7 * time.Second}, recv(t, got, 1)); diff != "" {
		t.Errorf("b's grant (-want +got):\n%s", diff)
	}
}

func TestSharedLimiterKeepsPrioritiesInsideTheProcess(t *testing.T) {
	f := clock.NewFake(t0)
	a, b := sharedPair(t, f, 2)
	recv(t, waitAll(t, f, a, 2, PrioritySubmit), 2)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for i, p := range []Priority{PrioritySubmit, PriorityLeafPoll, PriorityPoll} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Wait(context.Background(), p); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, p.String())
			mu.Unlock()
		}()
		waitUntil(t, func() bool { return b.Stats().Waiting == i+1 })
	}
	f.Advance(window.Window + window.Grace) // a's two slots free at once
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 2 })
	// Both slots free at the same instant, so the two winners return in
	// any order; what the priorities decide is who is left waiting: the
	// leaf poll, though it queued before the poll.
	mu.Lock()
	first := append([]string(nil), order...)
	mu.Unlock()
	sort.Strings(first)
	if diff := cmp.Diff([]string{"poll", "submit"}, first); diff != "" {
		t.Errorf("granted first (-want +got):\n%s", diff)
	}
	f.Advance(window.Window)
	wg.Wait()
	if order[2] != PriorityLeafPoll.String() {
		t.Errorf("granted last = %q, want the leaf poll", order[2])
	}
}

// advanceWhileAllWait moves f to its next timer whenever every one of
// active's unfinished calls waits in one of the limiters (a request in
// flight takes no fake time), until done closes.
func advanceWhileAllWait(f *clock.Fake, done <-chan struct{}, active *atomic.Int64, ls ...*Limiter) {
	waiting := func() int64 {
		n := 0
		for _, l := range ls {
			n += l.Stats().Waiting
		}
		return int64(n)
	}
	for f.WaitForTimers(1, done) {
		for waiting() != active.Load() {
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

// failingStore is a ledger that cannot be locked.
type failingStore struct{ calls int }

func (s *failingStore) Update(context.Context, func(*window.Ledger) bool) error {
	s.calls++
	return errors.New("lock busy")
}
func (s *failingStore) Where() string { return "nowhere" }

func TestSharedLimiterGoesOnWhenTheLedgerFails(t *testing.T) {
	f := clock.NewFake(t0)
	var warnings []string
	st := &failingStore{}
	l := NewSharedLimiter(2, f, st, func(w string) { warnings = append(warnings, w) })
	for range 2 {
		if err := l.Wait(context.Background(), PrioritySubmit); err != nil {
			t.Fatal(err)
		}
	}
	if st.calls != 1 {
		t.Errorf("store tried %d times, want once: it is tried again only after a backoff", st.calls)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "lock busy") || !strings.Contains(warnings[0], "own requests only") {
		t.Errorf("warnings = %q, want one naming the cause", warnings)
	}
	if s := l.Stats(); s.InWindow != 2 {
		t.Errorf("InWindow = %d, want 2: the limit still holds without the ledger", s.InWindow)
	}
}

// flakyStore is a ledger that fails its first fails updates, as a
// database does while it restarts, and records when each was tried.
type flakyStore struct {
	window.Store
	clock clock.Clock
	fails int
	tries []time.Time
}

func (s *flakyStore) Update(ctx context.Context, fn func(*window.Ledger) bool) error {
	s.tries = append(s.tries, s.clock.Now())
	if len(s.tries) <= s.fails {
		return errors.New("connection refused")
	}
	return s.Store.Update(ctx, fn)
}

// TestSharedLimiterRestoresSharingAfterAnOutage: a ledger that fails for a
// while (Postgres down) suspends sharing, not for good: the limiter counts
// its own requests alone, tries the ledger again after 1 s, then twice as
// long each time up to 30 s, and once it answers records the requests it
// made meanwhile, so that another process sees them, and shares again. It
// says so once when the ledger goes and once when it comes back.
func TestSharedLimiterRestoresSharingAfterAnOutage(t *testing.T) {
	f := clock.NewFake(t0)
	dir := t.TempDir()
	open := func() window.Store {
		s, err := window.OpenFile(dir, window.Name("http://sim", testKey), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const fails = 7
	flaky := &flakyStore{Store: open(), clock: f, fails: fails}
	var warnings []string
	a := NewSharedLimiter(100, f, flaky, func(w string) { warnings = append(warnings, w) })
	b := NewSharedLimiter(100, f, open(), func(w string) { t.Errorf("unexpected warning for b: %s", w) })
	var grants []time.Time
	const seconds = 100
	for i := range seconds {
		if i > 0 {
			f.Advance(time.Second)
		}
		if err := a.Wait(context.Background(), PrioritySubmit); err != nil {
			t.Fatal(err)
		}
		grants = append(grants, f.Now())
	}
	// Tried at once, then 1, 2, 4, 8, 16 and 30 (not 32) s after each
	// failure; from the first success on, at every grant.
	want := []time.Duration{0, 1, 3, 7, 15, 31, 61, 91}
	for s := 92; s < seconds; s++ {
		want = append(want, time.Duration(s))
	}
	for i := range want {
		want[i] *= time.Second
	}
	var got []time.Duration
	for _, at := range flaky.tries {
		got = append(got, at.Sub(t0))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("times the ledger was tried (-want +got):\n%s", diff)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "connection refused") || !strings.Contains(warnings[0], "own requests only") ||
		!strings.Contains(warnings[1], "sharing it again") {
		t.Errorf("warnings = %q, want one when the ledger fails, naming the cause, and one when it answers again", warnings)
	}
	// Another process sees every request of a still in the window,
	// those granted during the outage included.
	if err := b.Wait(context.Background(), PrioritySubmit); err != nil {
		t.Fatal(err)
	}
	inWindow := 0
	for _, g := range grants {
		if g.Add(window.Window + window.Grace).After(f.Now()) {
			inWindow++
		}
	}
	if got := b.Stats().Others; got != inWindow {
		t.Errorf("b counts %d requests of a's, want the %d still in the window", got, inWindow)
	}
}

// TestDeadProcessHoldsTheWindowNoLongerThanAMinute: a process killed
// with its requests in flight leaves open entries filling the window; a
// command started then waits for them, but no longer than the window.
func TestDeadProcessHoldsTheWindowNoLongerThanAMinute(t *testing.T) {
	f := clock.NewFake(t0)
	dir := t.TempDir()
	store, err := window.OpenFile(dir, window.Name("http://sim", testKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(context.Background(), func(led *window.Ledger) bool {
		for i := range 3 {
			led.Add("killed-mid-request", uint64(i+1), t0, true)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	l := NewSharedLimiter(3, f, store, func(w string) { t.Errorf("unexpected warning: %s", w) })
	var active atomic.Int64
	active.Store(1)
	done := make(chan struct{})
	go drive(f, l, &active, done)
	err = l.Wait(context.Background(), PrioritySubmit)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if waited := f.Now().Sub(t0); waited <= 0 || waited > window.Window {
		t.Errorf("waited %s for a dead process's requests, want more than nothing and at most %s", waited, window.Window)
	}
}

// TestTwoClientsOneKeyAgainstTheSimulator runs two clients of one key, each
// with its own shared limiter, against the simulator over HTTP: between
// them they ask for twice the limit, and no request is refused.
func TestTwoClientsOneKeyAgainstTheSimulator(t *testing.T) {
	f := clock.NewFake(t0)
	run, err := sim.Start("", sim.WithClock(f), sim.WithKey(testKey, 1000), sim.WithRateLimit(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	la, lb := sharedPair(t, f, 4)
	const each = 4
	var active atomic.Int64
	active.Store(2 * each)
	done := make(chan struct{})
	defer close(done)
	// Move the clock only while every unfinished call waits in a limiter:
	// a request in flight takes no fake time.
	go advanceWhileAllWait(f, done, &active, la, lb)
	var wg sync.WaitGroup
	for _, l := range []*Limiter{la, lb} {
		c, _ := newTestClient(t, f, run.URL, func(cfg *Config) { cfg.Limiter = l })
		for range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer active.Add(-1)
				if _, err := c.Models(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	// Four go at once; the other four when the first leave the window: a
	// minute after their answers for their own process, a Grace later for
	// the other one.
	var got []string
	for _, r := range run.Server.Log() {
		when := "now"
		if d := r.At.Sub(t0); d >= window.Window && d <= window.Window+window.Grace {
			when = "after a window"
		} else if d != 0 {
			when = d.String()
		}
		got = append(got, fmt.Sprintf("%s %d", when, r.Status))
	}
	want := []string{"now 200", "now 200", "now 200", "now 200",
		"after a window 200", "after a window 200", "after a window 200", "after a window 200"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestUnseenClientClosesTheKeyForEveryProcess: the simulator's window is already full
// from a client nobody sees. The first request meets a 429, and neither
// that process nor another one started after it sends again before the
// Retry-After has passed.
func TestUnseenClientClosesTheKeyForEveryProcess(t *testing.T) {
	f := clock.NewFake(t0)
	run, err := sim.Start("", sim.WithClock(f), sim.WithKey(testKey, 1000), sim.WithRateLimit(3),
		sim.WithUnseenRequests(testKey, 3, 50*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	la, lb := sharedPair(t, f, 3)
	var active atomic.Int64
	done := make(chan struct{})
	defer close(done)
	var wg sync.WaitGroup
	call := func(l *Limiter) {
		c, _ := newTestClient(t, f, run.URL, func(cfg *Config) { cfg.Limiter = l })
		active.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer active.Add(-1)
			if _, err := c.Models(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	call(la)
	waitUntil(t, func() bool { return la.Stats().Waiting == 1 && f.Pending() > 0 }) // paused by its 429
	call(lb)
	waitUntil(t, func() bool { return lb.Stats().Waiting == 1 })
	go advanceWhileAllWait(f, done, &active, la, lb)
	wg.Wait()
	var got []string
	for _, r := range run.Server.Log() {
		got = append(got, fmt.Sprintf("t0+%s %d", r.At.Sub(t0), r.Status))
	}
	want := []string{"t0+0s 429", "t0+10s 200", "t0+10s 200"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
