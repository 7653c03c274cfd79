package executor

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// scheduler decides every poll of a run: when each running task polls, and
// which task gets a probe from the window's slack. Nodes only state what
// they need (a submit, or "running, submitted at s, seen processing at
// k"); one loop grants polls, so that twelve tasks can never take the same
// spare slot. Submits go to the client's limiter at submit priority once
// admit lets them (it holds a submit back while the window is short and
// work ranked above it is about to send requests: see admit.go); the
// scheduler counts them so that it can reserve for them.
//
// The reserve is one request per node that still needs its submit plus one
// poll per running task. A probe is granted only while the window holds
// more free slots than that reserve and everything already waiting in the
// limiter; a request waiting in the limiter is counted there only.
type scheduler struct {
	clock clock.Clock
	lim   *xpilot.Limiter
	lat   *Latencies
	poke  chan struct{} // buffered 1: something changed

	mu        sync.Mutex          // guards the fields below and every task's fields
	pending   map[*node]bool      // nodes that still need a submit not yet in the limiter
	byAddr    map[string]*node    // every node registered by willSubmit
	gates     map[*node]*gate     // submits held back for the critical path (see admit)
	admitted  map[*node]bool      // nodes let through admit whose submit is not answered yet
	gating    bool                // some node that will submit has inputs: admit may hold submits back
	inLimiter int                 // submits waiting in the limiter or in flight
	unsent    int                 // polls granted and not yet sent (see slackLocked)
	limited   map[*node]bool      // those submits' nodes, for the forecast
	answered  map[*node]time.Time // nodes answered, when, not yet tracked or finished
	tasks     map[*task]bool      // running tasks
	groups    map[string]*groupRun
	atOnce    map[string]bool // groups whose generate answered with the result
	fcAt      time.Time       // when the last forecast was made
	fcEnd     time.Time       // the end of the run it forecast
	fcSig     [5]int          // the sizes of the sets above it was made from
}

// groupRun is what this run saw of one model and key.
type groupRun struct {
	seen float64 // the longest age a task was seen processing, seconds
}

// task is one running generation as the scheduler sees it. Its fields are
// guarded by scheduler.mu.
type task struct {
	kind       spec.Kind
	addr       string  // its node's address; "" if not named
	rank       float64 // its node's rank (see rankNodes); 0 if not named
	model, key string
	submitted  time.Time
	feeds      bool          // other nodes wait on it
	known      float64       // age last seen processing, seconds; 0 if never
	last       time.Time     // when its last poll went out; zero if none
	waiting    bool          // blocked in next
	inflight   bool          // granted, its poll not yet answered
	unsent     bool          // granted, its poll not yet sent: the limiter may not count it yet
	grant      chan pollKind // receives the grant
	dueAt      time.Time     // dispatchLocked's scratch: when its poll fell due
}

// pollKind is what a grant is for.
type pollKind struct {
	prio  xpilot.Priority
	probe bool
}

func newScheduler(c clock.Clock, lim *xpilot.Limiter, lat *Latencies) *scheduler {
	return &scheduler{clock: c, lim: lim, lat: lat, poke: make(chan struct{}, 1),
		pending: map[*node]bool{}, byAddr: map[string]*node{}, gates: map[*node]*gate{}, admitted: map[*node]bool{},
		limited: map[*node]bool{}, tasks: map[*task]bool{}, groups: map[string]*groupRun{},
		atOnce: map[string]bool{}, answered: map[*node]time.Time{}}
}

// changed wakes the loop.
func (s *scheduler) changed() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// willSubmit registers a node that will need a submit.
func (s *scheduler) willSubmit(nd *node) {
	s.mu.Lock()
	s.pending[nd] = true
	s.byAddr[nd.addr] = nd
	s.mu.Unlock()
}

// submitting notes that nd's submit enters the limiter; the returned
// function notes that it left it (answered or given up).
func (s *scheduler) submitting(nd *node) (done func()) {
	s.mu.Lock()
	delete(s.pending, nd)
	s.inLimiter++
	s.limited[nd] = true
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			// Counted as admitted until answered: between here and the
			// limiter's queue it is in neither, and a held leaf must not
			// take its slot (while in the limiter too it is counted
			// twice, which only holds leaves a moment longer).
			delete(s.admitted, nd)
			s.inLimiter--
			if s.limited[nd] {
				delete(s.limited, nd)
				s.answered[nd] = s.clock.Now()
			}
			s.mu.Unlock()
			s.changed()
		})
	}
}

// gone notes that nd will not submit (any more).
func (s *scheduler) gone(nd *node) {
	s.mu.Lock()
	had := s.pending[nd]
	delete(s.pending, nd)
	delete(s.admitted, nd)
	s.mu.Unlock()
	if had {
		s.changed()
	}
}

// track registers a running task.
func (s *scheduler) track(kind spec.Kind, model, key string, submitted time.Time, feeds bool, last time.Time) *task {
	t := &task{kind: kind, model: model, key: key, submitted: submitted, feeds: feeds, last: last,
		grant: make(chan pollKind, 1)}
	s.mu.Lock()
	s.tasks[t] = true
	if s.groups[group(model, key)] == nil {
		s.groups[group(model, key)] = &groupRun{}
	}
	s.mu.Unlock()
	s.changed()
	return t
}

// untrack forgets a task that ended.
func (s *scheduler) untrack(t *task) {
	s.mu.Lock()
	delete(s.tasks, t)
	s.mu.Unlock()
	s.changed()
}

// next blocks until t may poll; ok is false if ctx ended or stop closed.
func (s *scheduler) next(ctx context.Context, stop <-chan struct{}, t *task) (pollKind, bool) {
	s.mu.Lock()
	t.waiting = true
	s.mu.Unlock()
	s.changed()
	select {
	case g := <-t.grant:
		return g, true
	case <-ctx.Done():
	case <-stop:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.waiting = false
	select {
	case <-t.grant: // granted as it gave up: hand the slot back
		t.inflight = false
		s.sentLocked(t)
		s.changed()
	default:
	}
	return pollKind{}, false
}

// sent notes that t's granted poll went out (or will not): from now on
// the limiter counts it in its window, or it takes no slot.
func (s *scheduler) sent(t *task) {
	s.mu.Lock()
	s.sentLocked(t)
	s.mu.Unlock()
}

func (s *scheduler) sentLocked(t *task) {
	if t.unsent {
		t.unsent = false
		s.unsent--
	}
}

// polled notes the answer of t's poll, sent at sent and answered at
// answered: processing or not. Spacing counts from the answer, which is
// never before the API saw the poll.
func (s *scheduler) polled(t *task, sent, answered time.Time, processing bool) {
	s.mu.Lock()
	t.inflight = false
	s.sentLocked(t)
	if !sent.IsZero() {
		t.last = answered
		if processing {
			t.known = math.Max(t.known, seconds(sent.Sub(t.submitted)))
			g := s.groups[group(t.model, t.key)]
			g.seen = math.Max(g.seen, t.known)
		}
	}
	s.mu.Unlock()
	s.changed()
}

// run is the scheduler's loop: it grants what is due, then sleeps until
// the next due time or the next change.
func (s *scheduler) run(ctx context.Context) {
	for {
		s.mu.Lock()
		wake := s.dispatchLocked(s.clock.Now())
		s.mu.Unlock()
		var timer clock.Timer
		var fire <-chan time.Time
		if !wake.IsZero() {
			timer = s.clock.NewTimer(wake.Sub(s.clock.Now()))
			fire = timer.C()
		}
		select {
		case <-s.poke:
		case <-fire:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// dispatchLocked grants the polls that are due and the probes the slack
// allows. It returns when it next needs to look, zero if only a change
// can make anything due.
func (s *scheduler) dispatchLocked(now time.Time) time.Time {
	var wake time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	slack, leave := s.slackLocked(now)
	// A granted poll takes a slot beyond its task's reserve until it
	// answers, and keeps it if it answers processing. Due polls spend the
	// slack first, oldest due first; once it is gone, a poll that answers
	// processing makes some request wait for a slot to leave the window,
	// so the rest wait for tightDueLocked.
	var due []*task
	for t := range s.tasks {
		if !t.waiting || t.inflight {
			continue
		}
		at := s.dueLocked(t, false)
		if at.After(now) {
			soonest(at)
			continue
		}
		t.dueAt = at
		due = append(due, t)
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].dueAt.Equal(due[j].dueAt) {
			return due[i].dueAt.Before(due[j].dueAt)
		}
		return due[i].submitted.Before(due[j].submitted)
	})
	for _, t := range due {
		if slack <= 0 {
			if at := s.tightDueLocked(t, leave); at.After(now) {
				soonest(at)
				continue
			}
		}
		prio := xpilot.PriorityLeafPoll
		if t.feeds {
			prio = xpilot.PriorityPoll
		}
		s.grantLocked(t, pollKind{prio: prio})
		slack--
	}
	for slack > 0 {
		t, at := s.probeCandidateLocked(now, slack)
		if t == nil {
			soonest(at)
			break
		}
		s.grantLocked(t, pollKind{prio: xpilot.PriorityLeafPoll, probe: true})
		slack--
	}
	if slack <= 0 {
		soonest(leave) // slack may return when a slot leaves the window
	}
	soonest(s.openGatesLocked(now))
	return wake
}

func (s *scheduler) grantLocked(t *task, k pollKind) {
	t.waiting, t.inflight, t.unsent = false, true, true
	s.unsent++
	t.grant <- k
}

// slackLocked returns how many requests the window holds beyond the
// reserve, and when a slot next leaves the window.
func (s *scheduler) slackLocked(now time.Time) (int, time.Time) {
	per := s.lim.PerMinute()
	st := s.lim.Stats()
	if per <= 0 {
		return math.MaxInt32, time.Time{}
	}
	if now.Before(st.PausedUntil) {
		return 0, st.PausedUntil
	}
	// A task whose poll is in flight still counts: if that poll answers
	// processing, the task needs another. A submit in the limiter is in
	// st.Waiting or st.InWindow already, so pending leaves it out. A poll
	// granted but not yet sent takes a slot of its own: between the grant
	// and the limiter's queue the limiter does not see it, and a dispatch
	// in that gap would grant its slot again (while it waits in the
	// limiter it is counted twice, which only delays a probe).
	reserve := len(s.pending) + len(s.tasks) + s.unsent
	return per - st.InWindow - st.Waiting - reserve, st.NextLeave
}

// estimate returns the latency estimate of t's model and key.
func (s *scheduler) estimate(t *task) (*Dist, int) {
	return s.lat.Estimate(t.kind, t.model, t.key)
}

// dueLocked is when t's next needed poll is due. While its model has no
// observation, the oldest task of the model climbs the learning ladder
// and the others wait at the prior's quantile (or for a probe). tight
// asks when the poll should go while the window has no slack: while fewer
// than minLearned tasks were seen, at the confident quantile and the
// tight tail guard (see tightDueLocked); and, however many were seen, no
// sooner than the spread estimate's quantile (see Dist.Spread).
func (s *scheduler) dueLocked(t *task, tight bool) time.Time {
	d, n := s.estimate(t)
	g := s.groups[group(t.model, t.key)]
	q := leafQuantile
	if t.feeds {
		q = feedsQuantile
	}
	guard := tailGuard
	if tight && n < minLearned {
		q, guard = math.Max(q, tightQuantile), tightTailGuard
		if t.feeds {
			q = math.Max(feedsQuantile, tightFeedsQuantile)
		}
	}
	age := nextPoll(d, n, t.known, q, guard)
	if tight {
		// Without slack an early poll costs a wait: trust no more than
		// the observations show (see Dist.Spread).
		age = math.Max(age, nextPoll(d.Spread(), n, t.known, q, guard))
	}
	if n == 0 && s.scoutLocked(t) {
		age = math.Min(age, rungAbove(t.kind, math.Max(t.known, g.seen)))
	}
	return s.spaced(t, t.submitted.Add(duration(age)))
}

// tightDueLocked is when t's due poll goes while the window has no slack
// (t.dueAt being when it fell due): at the confident time of dueLocked,
// but never later than MinPollInterval before the next slot leaves the
// window (leave), since a poll that answers processing then costs no
// wait: its next poll would go when that slot leaves anyway.
func (s *scheduler) tightDueLocked(t *task, leave time.Time) time.Time {
	at := s.dueLocked(t, true)
	if limit := leave.Add(-MinPollInterval); !leave.IsZero() && at.After(limit) {
		at = limit
	}
	if at.Before(t.dueAt) {
		at = t.dueAt
	}
	return at
}

// spaced delays due so that t is never polled twice within MinPollInterval.
func (s *scheduler) spaced(t *task, due time.Time) time.Time {
	if !t.last.IsZero() && due.Before(t.last.Add(MinPollInterval)) {
		return t.last.Add(MinPollInterval)
	}
	return due
}

// scoutLocked reports whether t is the oldest running task of its model
// and key.
func (s *scheduler) scoutLocked(t *task) bool {
	for o := range s.tasks {
		if o != t && o.model == t.model && o.key == t.key && o.submitted.Before(t.submitted) {
			return false
		}
	}
	return true
}

// probeAtLocked is when a probe of t would be worth its slot, given the
// slack and the probe quantile q (probeQuantileLocked): at quantile q of
// the estimate given how long t has run (past everything seen, that
// fraction of the due poll's backoff). A model
// with no observation has its oldest task climb the learning ladder (see
// dueLocked); a probe of a task of the same age would mostly learn the same
// thing, so the others get none.
func (s *scheduler) probeAtLocked(t *task, slack int, q float64) time.Time {
	d, n := s.estimate(t)
	if n == 0 {
		// While most of the window is spare, the ladder's scout is also
		// probed between its rungs, growing by a fifth.
		if slack*2 <= s.lim.PerMinute() || !s.scoutLocked(t) {
			return time.Time{}
		}
		g := s.groups[group(t.model, t.key)]
		k := math.Max(t.known, g.seen)
		return s.spaced(t, t.submitted.Add(duration(math.Max(k*fineStep, ladderStart(t.kind)))))
	}
	return s.spaced(t, t.submitted.Add(duration(ageAt(d, t.known, q, q))))
}

// probeQuantileLocked is the quantile probes go at: the median, lower
// when the slack is ample for the tasks waiting, so that a spare window
// buys earlier notice (down to the 0.1 quantile).
func (s *scheduler) probeQuantileLocked(slack int) float64 {
	waiting := 0
	for t := range s.tasks {
		if t.waiting && !t.inflight {
			waiting++
		}
	}
	perTask := float64(slack) / float64(max(waiting, 1))
	return math.Max(minProbeQuantile, probeQuantile/math.Max(perTask, 1))
}

// probeCandidateLocked returns the waiting task whose probe is most
// overdue, or nil and when the next probe falls due.
func (s *scheduler) probeCandidateLocked(now time.Time, slack int) (*task, time.Time) {
	var best *task
	var bestAt, next time.Time
	q := s.probeQuantileLocked(slack)
	for t := range s.tasks {
		if !t.waiting || t.inflight {
			continue
		}
		at := s.probeAtLocked(t, slack, q)
		if at.IsZero() {
			continue
		}
		if at.After(now) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		if best == nil || at.Before(bestAt) {
			best, bestAt = t, at
		}
	}
	return best, next
}

// windowFull reports whether a request sent now would wait for the window.
func (s *scheduler) windowFull() bool {
	per := s.lim.PerMinute()
	if per <= 0 {
		return false
	}
	st := s.lim.Stats()
	return st.InWindow+st.Waiting >= per || s.clock.Now().Before(st.PausedUntil)
}

// knownAge is the age at which t was last seen processing, in seconds.
func (s *scheduler) knownAge(t *task) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.known
}
