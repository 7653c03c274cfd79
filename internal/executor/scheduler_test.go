package executor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// learnedState holds 20 exact latencies of model m, key 8: 10.5 s to 29.5 s.
func learnedState() *state.State {
	st := state.New()
	s := &state.Samples{}
	for i := range 20 {
		s.AddInterval(10+float64(i), 11+float64(i))
	}
	st.Models = map[string]*state.ModelStats{"m": {Latency: map[string]*state.Samples{"8": s}}}
	return st
}

// schedFixture is a scheduler on a fake clock, driven by hand: the test
// calls dispatch where the loop would, so nothing depends on goroutines.
type schedFixture struct {
	clock *clock.Fake
	lim   *xpilot.Limiter
	s     *scheduler
}

func newSchedFixture(t *testing.T, st *state.State, used int) *schedFixture {
	t.Helper()
	f := clock.NewFake(t0)
	lim := xpilot.NewLimiter(30, f)
	for range used {
		if err := lim.Wait(context.Background(), xpilot.PrioritySubmit); err != nil {
			t.Fatal(err)
		}
	}
	return &schedFixture{clock: f, lim: lim, s: newScheduler(f, lim, NewLatencies(st))}
}

// waiting registers a task submitted at t0+offset that waits for its poll.
func (fx *schedFixture) waiting(model string, offset time.Duration) *task {
	t := fx.s.track(spec.KindVideo, model, "8", t0.Add(offset), false, time.Time{})
	fx.s.mu.Lock()
	t.waiting = true
	fx.s.mu.Unlock()
	return t
}

// grants runs one round of the scheduler at the fake clock's time and
// returns the tasks it granted, what for, and when it wants to look
// again. The grants are not sent: the limiter does not see them yet.
func (fx *schedFixture) grants(tasks []*task) (granted []*task, kinds []pollKind, wake time.Time) {
	fx.s.mu.Lock()
	wake = fx.s.dispatchLocked(fx.clock.Now())
	fx.s.mu.Unlock()
	for _, t := range tasks {
		select {
		case k := <-t.grant:
			granted, kinds = append(granted, t), append(kinds, k)
		default:
		}
	}
	return granted, kinds, wake
}

// send sends t's granted poll as the client would: it takes a slot.
func (fx *schedFixture) send(t *task, k pollKind) {
	_ = fx.lim.Wait(context.Background(), k.prio)
	fx.s.sent(t)
}

// dispatch runs one round of the scheduler, sends what it granted and
// counts it.
func (fx *schedFixture) dispatch(tasks []*task) (polls, probes int, wake time.Time) {
	granted, kinds, wake := fx.grants(tasks)
	for i, t := range granted {
		if kinds[i].probe {
			probes++
		} else {
			polls++
		}
		fx.send(t, kinds[i])
	}
	return polls, probes, wake
}

func TestSchedulerGrantsProbesOnlyFromSlack(t *testing.T) {
	tests := map[string]struct {
		used, pending, tasks int
		wantProbes           int
	}{
		// 13 requests in the window, 12 running tasks reserve 12 polls:
		// 5 spare slots, and 12 tasks cannot all take them.
		"the issue's 12 tasks": {used: 13, tasks: 12, wantProbes: 5},
		// Submits still to send reserve their slots too.
		"submits to come": {used: 13, pending: 4, tasks: 12, wantProbes: 1},
		// The run's demand exceeds the window: nothing is spare.
		"demand over the window": {used: 10, pending: 20, tasks: 12, wantProbes: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx := newSchedFixture(t, learnedState(), tc.used)
			for range tc.pending {
				fx.s.willSubmit(&node{})
			}
			var tasks []*task
			for range tc.tasks {
				tasks = append(tasks, fx.waiting("m", 0))
			}
			// At 21 s every task is past the median (20 s), not yet due (0.9
			// quantile, 28 s).
			fx.clock.Set(t0.Add(21 * time.Second))
			polls, probes, _ := fx.dispatch(tasks)
			if polls != 0 || probes != tc.wantProbes {
				t.Errorf("got %d polls and %d probes, want 0 and %d", polls, probes, tc.wantProbes)
			}
			// Nothing changed but time: the probes answered, the slack is gone.
			fx.clock.Set(t0.Add(22 * time.Second))
			if polls, probes, _ := fx.dispatch(tasks); polls+probes != 0 {
				t.Errorf("a second round granted %d polls and %d probes, want none", polls, probes)
			}
		})
	}
}

// A grant reaches the limiter only when its task's goroutine gets to it.
// The loop may run again before that (another task's answer pokes it): it
// must not grant the same spare slots a second time.
func TestSchedulerCountsGrantsNotYetSent(t *testing.T) {
	fx := newSchedFixture(t, learnedState(), 13)
	var tasks []*task
	for range 12 {
		tasks = append(tasks, fx.waiting("m", 0))
	}
	fx.clock.Set(t0.Add(21 * time.Second))
	granted, kinds, _ := fx.grants(tasks)
	if len(granted) != 5 {
		t.Fatalf("first round granted %d probes, want the 5 spare slots", len(granted))
	}
	// None of them has reached the limiter yet.
	if again, _, _ := fx.grants(tasks); len(again) != 0 {
		t.Errorf("a second round before the grants were sent granted %d more, want 0", len(again))
	}
	// Once sent, they are in the window: still nothing spare.
	for i, tk := range granted {
		fx.send(tk, kinds[i])
	}
	if again, _, _ := fx.grants(tasks); len(again) != 0 {
		t.Errorf("after the grants were sent a round granted %d more, want 0", len(again))
	}
	// One probe answers done: its task leaves and its reserved poll is spare.
	fx.s.polled(granted[0], fx.clock.Now(), fx.clock.Now(), false)
	fx.s.untrack(granted[0])
	if again, _, _ := fx.grants(tasks); len(again) != 1 {
		t.Errorf("after one probe found its task done a round granted %d, want 1", len(again))
	}
}

func TestSchedulerPollsAtTheLearnedQuantileAndSleepsUntilThen(t *testing.T) {
	fx := newSchedFixture(t, learnedState(), 0)
	fx.s.willSubmit(&node{}) // keep slack small: 30 - 0 - (1 + 29) = 0
	var tasks []*task
	for range 29 {
		tasks = append(tasks, fx.waiting("m", 0))
	}
	d, _ := fx.s.lat.Estimate(spec.KindVideo, "m", "8")
	due := t0.Add(duration(nextPoll(d, 20, 0, leafQuantile, tailGuard)))
	if got, want := due.Sub(t0), 28*time.Second; got < want-time.Second || got > want+time.Second {
		t.Fatalf("due %v after submit, want about %v (the 0.9 quantile of 10.5-29.5 s)", got, want)
	}
	polls, probes, wake := fx.dispatch(tasks)
	if polls+probes != 0 {
		t.Fatalf("at submit: %d polls, %d probes; want none", polls, probes)
	}
	if !wake.Equal(due) {
		t.Errorf("wakes at %v, want exactly the due time %v (never a periodic re-check)", wake.Sub(t0), due.Sub(t0))
	}
	fx.clock.Set(due.Add(-time.Millisecond))
	if polls, _, _ := fx.dispatch(tasks); polls != 0 {
		t.Errorf("just before due: %d polls, want 0", polls)
	}
	fx.clock.Set(due)
	if polls, _, _ := fx.dispatch(tasks); polls != 29 {
		t.Errorf("at due: %d polls, want 29 (each task's reserved poll, rate limit or not)", polls)
	}
}

func TestSchedulerLadderForAnUnknownModel(t *testing.T) {
	fx := newSchedFixture(t, state.New(), 0)
	oldest := fx.waiting("new", 0)
	tasks := []*task{oldest, fx.waiting("new", time.Second), fx.waiting("new", 2*time.Second)}
	// The prior's fastest video is 40 s: the ladder starts at 4 s, and only
	// the oldest task climbs it; no probes for a model never seen.
	_, _, wake := fx.dispatch(tasks)
	if got := wake.Sub(t0); got != 4*time.Second {
		t.Fatalf("first look at %v, want 4s (the first rung)", got)
	}
	fx.clock.Set(t0.Add(4 * time.Second))
	polls, probes, _ := fx.dispatch(tasks)
	if polls != 1 || probes != 0 {
		t.Fatalf("at 4 s: %d polls, %d probes; want the oldest task's 1 poll", polls, probes)
	}
	// It answered processing at 4 s: the next rung is 6 s.
	fx.s.polled(oldest, t0.Add(4*time.Second), t0.Add(4*time.Second), true)
	fx.s.mu.Lock()
	oldest.waiting = true
	fx.s.mu.Unlock()
	_, _, wake = fx.dispatch(tasks)
	if got := wake.Sub(t0); got != 7*time.Second {
		t.Errorf("next look at %v, want 7s (rung 6 s, but 3 s after the last poll)", got)
	}
	// Once it is seen done in (4 s, 10 s], the others wait for the tail
	// guard: 1.5 times the slowest midpoint, 10.5 s.
	fx.s.lat.Observe("new", "8", 4, 10)
	fx.s.untrack(oldest)
	fx.clock.Set(t0.Add(10 * time.Second))
	_, _, wake = fx.dispatch(tasks[1:])
	if got := wake.Sub(t0); got < 11*time.Second || got > 13*time.Second {
		t.Errorf("the others are next looked at %v, want 1.5 x 7 s after their submit (11.5-12.5 s)", got)
	}
}

func TestSchedulerHandsBackAGrantWhenTheTaskStops(t *testing.T) {
	fx := newSchedFixture(t, learnedState(), 0)
	tk := fx.s.track(spec.KindVideo, "m", "8", t0, false, time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := fx.s.next(ctx, nil, tk); ok {
		t.Fatal("next after cancel: ok, want false")
	}
	fx.s.mu.Lock()
	defer fx.s.mu.Unlock()
	if tk.waiting || tk.inflight {
		t.Errorf("a stopped task is still waiting=%v inflight=%v", tk.waiting, tk.inflight)
	}
}

// oneSeenState holds one observation of model m, key 8: done in (lo, hi].
func oneSeenState(lo, hi float64) *state.State {
	st := state.New()
	s := &state.Samples{}
	s.AddInterval(lo, hi)
	st.Models = map[string]*state.ModelStats{"m": {Latency: map[string]*state.Samples{"8": s}}}
	return st
}

func TestSchedulerDueWithoutSlackWaitsForAConfidentTime(t *testing.T) {
	tests := map[string]struct {
		used     int     // requests at t0, all leaving the window at 60 s
		lo, hi   float64 // the one observation
		atGuard  int     // polls granted when the tail guard falls due
		later    float64 // when the rest go, seconds after t0
		laterAll int
	}{
		// 12 submits and 6 polls in the window, 12 tasks: no slack. A poll
		// at the tail guard (1.5 x 19.75 s) that answers processing would
		// wait for 60 s; all wait for the tight guard, 2.25 x 19.75 s.
		"no slack": {used: 18, lo: 15.8, hi: 23.7, atGuard: 0, later: 44.4375, laterAll: 12},
		// Two spare slots: the two go at the guard, the rest wait.
		"two spare": {used: 16, lo: 15.8, hi: 23.7, atGuard: 2, later: 44.4375, laterAll: 10},
		// The tight guard (2.25 x 29.6 s) is past the window's refresh:
		// the polls go 3 s before the first slot leaves, when a poll that
		// answers processing costs no wait.
		"tight guard past the refresh": {used: 18, lo: 23.7, hi: 35.5, atGuard: 0, later: 57, laterAll: 12},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx := newSchedFixture(t, oneSeenState(tc.lo, tc.hi), tc.used)
			var tasks []*task
			for range 12 {
				tasks = append(tasks, fx.waiting("m", 0))
			}
			guard := duration(tailGuard * (tc.lo + tc.hi) / 2)
			fx.clock.Set(t0.Add(guard))
			polls, probes, wake := fx.dispatch(tasks)
			if polls != tc.atGuard || probes != 0 {
				t.Fatalf("at the tail guard (%v): %d polls, %d probes; want %d polls and no probe", guard, polls, probes, tc.atGuard)
			}
			if want := t0.Add(duration(tc.later)); wake.Sub(want).Abs() > time.Millisecond {
				t.Fatalf("wakes at %v, want %.4gs", wake.Sub(t0), tc.later)
			}
			fx.clock.Set(wake.Add(-10 * time.Millisecond))
			if polls, _, _ := fx.dispatch(tasks); polls != 0 {
				t.Errorf("just before: %d polls, want 0", polls)
			}
			fx.clock.Set(wake)
			if polls, _, _ := fx.dispatch(tasks); polls != tc.laterAll {
				t.Errorf("at %v: %d polls, want %d", wake.Sub(t0), polls, tc.laterAll)
			}
		})
	}
}

// TestSchedulerWithoutSlackTrustsOnlyWhatWideObservationsShow: a second
// run whose model was learned from late polls (see wideObs) believed
// every task takes 23-24 s, polled all 12 at 23.6 s, spent the window on
// the 7 still running and waited for it to slide (ratio 1.6 in
// scripts/bench.sh sched, "12 video 15-45s (learned)"). Slack is still
// spent at the learned quantile; without it, polls wait for the spread
// estimate, never past 3 s before the first slot leaves the window.
func TestSchedulerWithoutSlackTrustsOnlyWhatWideObservationsShow(t *testing.T) {
	tests := map[string]struct {
		used   int // requests at t0, leaving the window at 60 s
		atTurn int // polls granted at the learned q0.9
	}{
		"no slack":  {used: 18, atTurn: 0},
		"six spare": {used: 12, atTurn: 6},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := state.New()
			s := &state.Samples{}
			for _, iv := range wideObs() {
				s.AddInterval(iv.Lo, iv.Hi)
			}
			st.Models = map[string]*state.ModelStats{"m": {Latency: map[string]*state.Samples{"8": s}}}
			fx := newSchedFixture(t, st, tc.used)
			var tasks []*task
			for range 12 {
				tasks = append(tasks, fx.waiting("m", 0))
			}
			fx.clock.Set(t0.Add(24 * time.Second))
			polls, probes, wake := fx.dispatch(tasks)
			if polls != tc.atTurn || probes != 0 {
				t.Fatalf("at 24 s: %d polls, %d probes; want %d polls", polls, probes, tc.atTurn)
			}
			// Spread's q0.9 is 49.2 s; the first slot leaves at 60 s.
			if got := wake.Sub(t0); got < 45*time.Second || got > 57*time.Second {
				t.Fatalf("wakes at %v, want between 45 s and 57 s", got)
			}
			fx.clock.Set(wake)
			if polls, _, _ := fx.dispatch(tasks); polls != 12-tc.atTurn {
				t.Errorf("at %v: %d polls, want %d", wake.Sub(t0), polls, 12-tc.atTurn)
			}
		})
	}
}

// gateNode is a node that will submit, registered with the scheduler.
func (fx *schedFixture) gateNode(addr string, kind spec.Kind, rank float64, feeds bool, deps ...string) *node {
	nd := &node{vertex: vertex{addr: addr, deps: deps}, n: &planner.Node{Addr: addr, Kind: kind, Deps: deps}, rank: rank, feeds: feeds}
	fx.s.willSubmit(nd)
	fx.s.mu.Lock()
	fx.s.gating = fx.s.gating || len(deps) > 0
	fx.s.mu.Unlock()
	return nd
}

// admitting starts admit for nd; the channel closes when it returns.
func (fx *schedFixture) admitting(nd *node, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fx.s.admit(context.Background(), stop, nd)
	}()
	// Wait until it holds a gate or went through.
	for {
		fx.s.mu.Lock()
		_, held := fx.s.gates[nd]
		fx.s.mu.Unlock()
		select {
		case <-done:
			return done
		default:
		}
		if held {
			return done
		}
		time.Sleep(time.Millisecond)
	}
}

// closedWithin reports whether ch is closed within d.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// held reports whether ch stays open for a moment: admit did not return.
func held(ch <-chan struct{}) bool { return !closedWithin(ch, 50*time.Millisecond) }

// returned reports whether ch closes within 2 s: admit returned.
func returned(ch <-chan struct{}) bool { return closedWithin(ch, 2*time.Second) }

// TestAdmitHoldsALeafWhileTheChainNeedsTheWindow drives admit by hand: a
// clip (rank 90) waits while the window's free slots do not exceed what
// the text -> image chain (rank 105) is about to send, and goes once the
// chain's requests are sent.
func TestAdmitHoldsALeafWhileTheChainNeedsTheWindow(t *testing.T) {
	fx := newSchedFixture(t, nil, 28) // 2 free slots
	text := fx.gateNode("text.hook", spec.KindText, 105, true)
	image := fx.gateNode("image.hero", spec.KindImage, 105, true, "text.hook")
	clip := fx.gateNode("video.clip", spec.KindVideo, 90, false)
	// The chain's reserve: the text's submit and the image's (its input
	// is a text, answered at once). 2 free is not more than 2.
	done := fx.admitting(clip, nil)
	if !held(done) {
		t.Fatal("the clip went through with 2 free slots and 2 reserved for the chain")
	}
	// The chain's own submits go at once: nothing is ranked above them.
	if !returned(fx.admitting(text, nil)) {
		t.Fatal("the text was held back")
	}
	fx.s.submitting(text)()
	_ = fx.lim.Wait(context.Background(), xpilot.PrioritySubmit)
	if !returned(fx.admitting(image, nil)) {
		t.Fatal("the image was held back")
	}
	fx.s.submitting(image)() // answered; its poll is reserved until it is tracked
	_ = fx.lim.Wait(context.Background(), xpilot.PrioritySubmit)
	fx.dispatch(nil)
	if !held(done) {
		t.Fatal("the clip took the window's last slot, which the image's poll needs")
	}
	// The window slides: every slot frees, far more than the reserve.
	fx.clock.Advance(61 * time.Second)
	fx.dispatch(nil)
	if !returned(done) {
		t.Fatal("the clip is still held with the window empty")
	}
}

// TestAdmitNeverHoldsWithoutDependencies: a campaign of independent
// assets has no critical path; a full window holds its submits in the
// limiter, as before, not in admit.
func TestAdmitNeverHoldsWithoutDependencies(t *testing.T) {
	fx := newSchedFixture(t, nil, 30)
	fx.gateNode("video.a", spec.KindVideo, 120, true)
	b := fx.gateNode("video.b", spec.KindVideo, 90, false)
	if !returned(fx.admitting(b, nil)) {
		t.Fatal("admit held a submit in a campaign with no dependencies")
	}
}

// TestAdmitLetsGoOnStopAndAfterMaxGate: a held submit returns when apply
// stops (the caller then skips it), and never waits beyond maxGate, even
// while the reserve never clears.
func TestAdmitLetsGoOnStopAndAfterMaxGate(t *testing.T) {
	fx := newSchedFixture(t, nil, 30)
	// 40 texts, each feeding an image: a reserve of 80 submits, more
	// than the window ever holds free.
	for i := range 40 {
		text := fmt.Sprintf("text.hook%d", i)
		fx.gateNode(text, spec.KindText, 105, true)
		fx.gateNode(fmt.Sprintf("image.hero%d", i), spec.KindImage, 105, true, text)
	}
	stop := make(chan struct{})
	stopped := fx.admitting(fx.gateNode("video.a", spec.KindVideo, 90, false), stop)
	late := fx.admitting(fx.gateNode("video.b", spec.KindVideo, 90, false), nil)
	close(stop)
	if !returned(stopped) {
		t.Fatal("a held submit did not return on stop")
	}
	fx.clock.Advance(maxGate - time.Second)
	fx.dispatch(nil)
	if held(late) {
		fx.clock.Advance(time.Second)
		fx.dispatch(nil)
		if !returned(late) {
			t.Fatal("the held submit still waits after maxGate")
		}
	} else {
		t.Fatal("the held submit went before maxGate")
	}
}

// A task that outlives every latency seen is due only after a backoff (a
// quarter of its age). In scripts/bench.sh sched ("chain 3 (learned)") the
// slowest video, seen processing at 93 s past the learned 10-90 s, waited
// 23 s for its next poll with the window nearly empty, and the run ended
// 20 s after it was done. Spare slots now probe it at a fraction of that
// wait: the probe quantile (0.1 with slack to spare, up to the median).
func TestSchedulerProbesATaskPastEverythingSeen(t *testing.T) {
	tests := map[string]struct {
		used    int     // requests in the window
		probeAt float64 // seconds after t0
	}{
		// 28 slots free, one task: the 0.1 quantile, 35 + 0.1 x 8.75 s,
		// but no sooner than 3 s after its last poll.
		"window spare": {used: 1, probeAt: 38},
		// One slot spare for the one task: the median, 35 + 0.5 x 8.75 s.
		"one spare slot": {used: 28, probeAt: 39.375},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx := newSchedFixture(t, learnedState(), tc.used)
			tk := fx.waiting("m", 0)
			fx.s.mu.Lock()
			tk.known, tk.last = 35, t0.Add(35*time.Second)
			fx.s.mu.Unlock()
			fx.clock.Set(t0.Add(36 * time.Second))
			polls, probes, wake := fx.dispatch([]*task{tk})
			if polls+probes != 0 {
				t.Fatalf("at 36 s: %d polls and %d probes, want none", polls, probes)
			}
			if want := t0.Add(duration(tc.probeAt)); wake.Sub(want).Abs() > time.Millisecond {
				t.Fatalf("wakes at %v, want %gs (the due poll backs off to 43.75 s)", wake.Sub(t0), tc.probeAt)
			}
			fx.clock.Set(wake)
			if polls, probes, _ := fx.dispatch([]*task{tk}); polls != 0 || probes != 1 {
				t.Errorf("at %v: %d polls and %d probes, want one probe", wake.Sub(t0), polls, probes)
			}
		})
	}
}
