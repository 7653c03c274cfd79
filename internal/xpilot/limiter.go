package xpilot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/window"
)

// Window is the span over which the API counts requests per key.
const Window = window.Window

// Priority orders waiting requests in a Limiter: a lower value is served
// first. Within one priority, requests are served first come, first served.
type Priority int

// Priorities of API calls, highest first.
const (
	// PriorityDefault, in a Call, stands for the endpoint's own priority:
	// PriorityModels for the catalog, PrioritySubmit for generate requests,
	// PriorityPoll for polls. It is never queued as such.
	PriorityDefault Priority = iota
	// PriorityPoll is for polls of running tasks: a due poll must not be
	// starved by new submits, since its task is already paid for.
	PriorityPoll
	// PriorityModels is for the model catalog.
	PriorityModels
	// PrioritySubmit is for generate requests.
	PrioritySubmit
	// PriorityLeafPoll is for polls of tasks nothing else waits on. When the
	// budget is short they let submits go first: every task needs its submit
	// before it can start generating, while a finished leaf only waits to be
	// noticed, so submitting first shortens the whole batch.
	PriorityLeafPoll
)

// String names the priority for logs.
func (p Priority) String() string {
	switch p {
	case PriorityDefault:
		return "default"
	case PriorityPoll:
		return "poll"
	case PriorityModels:
		return "models"
	case PrioritySubmit:
		return "submit"
	case PriorityLeafPoll:
		return "leaf-poll"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// LimiterStats is a snapshot of a Limiter for progress display.
type LimiterStats struct {
	// InWindow is the number of slots taken: this process's requests in
	// flight and those answered within the last Window, plus Others.
	InWindow int
	// Waiting is the number of callers blocked in Wait.
	Waiting int
	// PausedUntil is when a pause ends, set by Pause or by a 429 another
	// process recorded in the shared window; zero or past when the limiter
	// is not paused.
	PausedUntil time.Time
	// NextLeave is when the oldest answered grant leaves the window,
	// freeing its slot; zero when no answered grant is in the window.
	// Other processes' requests count as answered grants.
	NextLeave time.Time
	// Others is the number of requests other processes sent with the key
	// within the window, as of the limiter's last look at the shared window
	// (0 when it is not shared).
	Others int
	// WaitingOnOthers is true while a waiting request would be sent but for
	// the other processes' requests or their 429.
	WaitingOnOthers bool
}

// Limiter is a sliding-window log: at most perMinute grants in any Window.
// A short pipeline may send perMinute requests at once; after that a request
// goes out as soon as the oldest grant leaves the window. Waiting callers are
// served strictly by priority, then in arrival order. One Limiter belongs to
// one API key and is shared by every goroutine using that key. The zero
// value is not usable; call NewLimiter.
//
// The server stamps a request when it arrives, which is some time after the
// grant. So that the two windows agree despite that delay, the client holds
// a grant open while its request is in flight and dates it from the moment
// the answer came back (see acquire); an open grant never leaves the window.
type Limiter struct {
	perMinute int
	clock     clock.Clock

	mu          sync.Mutex // guards every field below
	openGrants  int        // grants whose request is in flight; they never leave the window
	leaves      timeQueue  // when each closed grant inside the window leaves it, earliest first
	queue       []*waiter  // sorted by priority then seq
	seq         uint64     // arrival counter for FIFO within a priority
	pausedUntil time.Time
	timerAt     time.Time     // when the armed wake-up timer fires; zero if none
	timer       clock.Timer   // the armed wake-up timer; nil if none
	timerStop   chan struct{} // closed to retire the armed timer's goroutine
	shared      *sharedWindow // the window shared with other processes; nil if none
}

type waiter struct {
	p     Priority
	seq   uint64
	open  bool          // hold the grant open until release
	ready chan struct{} // closed when granted
	grant *grant        // set when granted; guarded by Limiter.mu
}

// grant is one slot of the window. It leaves the window Window after at,
// unless it is open (its request is still in flight).
type grant struct {
	at   time.Time // guarded by Limiter.mu
	open bool      // guarded by Limiter.mu
	seq  uint64    // its entry in the shared window; 0 if none
}

// NewLimiter returns a limiter allowing perMinute requests in any Window,
// timed by c. perMinute <= 0 means no limit (pauses still apply).
func NewLimiter(perMinute int, c clock.Clock) *Limiter {
	if c == nil {
		c = clock.Real()
	}
	return &Limiter{perMinute: perMinute, clock: c}
}

// PerMinute returns the number of requests allowed in any Window.
func (l *Limiter) PerMinute() int { return l.perMinute }

// Wait blocks until a request of priority p may be sent, or ctx is done. On
// success the grant is recorded in the window, dated from now; the caller
// must then send exactly one request. (The Client's own calls instead hold
// their slot open until the answer arrives.)
func (l *Limiter) Wait(ctx context.Context, p Priority) error {
	_, err := l.acquire(ctx, p, false)
	return err
}

// acquire waits like Wait. With open, the grant stays in the window until
// release is called with it, and is then dated from that moment.
func (l *Limiter) acquire(ctx context.Context, p Priority, open bool) (*grant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.seq++
	w := &waiter{p: p, seq: l.seq, open: open, ready: make(chan struct{})}
	l.enqueueLocked(w)
	l.dispatchLocked()
	if w.grant != nil {
		l.mu.Unlock()
		return w.grant, nil
	}
	l.armLocked()
	l.mu.Unlock()

	select {
	case <-w.ready:
		return w.grant, nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.grant != nil {
		// Granted while ctx was being cancelled: the slot is taken and
		// the caller may use it.
		return w.grant, nil
	}
	l.removeLocked(w)
	l.dispatchLocked()
	l.armLocked()
	return nil, ctx.Err()
}

// release closes an open grant: it now leaves the window Window from now.
func (l *Limiter) release(g *grant) {
	if g == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !g.open {
		return
	}
	g.open, g.at = false, l.clock.Now()
	if l.perMinute > 0 {
		l.openGrants--
		l.leaves.insert(g.at.Add(Window))
	}
	if l.shared != nil && g.seq != 0 {
		l.shared.closeEntry(l, g)
	}
	l.dispatchLocked()
	l.armLocked()
}

// Pause stops every grant until the given time: a 429 means the key is over
// its limit, whichever goroutine saw it. A pause never shortens an existing
// one. With a shared window, the pause is recorded there too, so that every
// process using the key waits instead of finding out by its own 429.
func (l *Limiter) Pause(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	if l.shared != nil {
		l.shared.close(l, until)
	}
	l.dispatchLocked()
	l.armLocked()
}

// Stats returns a snapshot of the limiter. It does not read the shared
// window: Others is as of the limiter's last grant or wake-up.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.pruneLocked(now)
	st := LimiterStats{InWindow: l.takenLocked(), Waiting: len(l.queue), PausedUntil: l.pausedUntil}
	if l.leaves.len() > 0 {
		st.NextLeave = l.leaves.at(0)
	}
	if sh := l.shared; sh != nil {
		st.Others = sh.othersAt(now)
		st.InWindow += st.Others
		st.WaitingOnOthers = sh.blocked
		if sh.closedUntil.After(st.PausedUntil) {
			st.PausedUntil = sh.closedUntil
		}
		for _, end := range sh.others {
			if end.After(now) && (st.NextLeave.IsZero() || end.Before(st.NextLeave)) {
				st.NextLeave = end
			}
		}
	}
	return st
}

// Leaving returns how many requests now in the window leave it by by (this
// process's answered ones and, with a shared window, the other processes'),
// and when the next one after those leaves; zero if none does. A request in
// flight never leaves before it is answered, so it is not counted.
func (l *Limiter) Leaving(by time.Time) (n int, next time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.pruneLocked(now)
	var others []time.Time
	if sh := l.shared; sh != nil {
		for _, end := range sh.others {
			if end.After(now) {
				others = append(others, end)
			}
		}
	}
	i, j := 0, 0
	for i < l.leaves.len() || j < len(others) {
		var at time.Time
		if j >= len(others) || (i < l.leaves.len() && l.leaves.at(i).Before(others[j])) {
			at = l.leaves.at(i)
			i++
		} else {
			at = others[j]
			j++
		}
		if at.After(by) {
			return n, at
		}
		n++
	}
	return n, time.Time{}
}

func (l *Limiter) enqueueLocked(w *waiter) {
	i := sort.Search(len(l.queue), func(i int) bool {
		q := l.queue[i]
		return q.p > w.p || (q.p == w.p && q.seq > w.seq)
	})
	l.queue = append(l.queue, nil)
	copy(l.queue[i+1:], l.queue[i:])
	l.queue[i] = w
}

func (l *Limiter) removeLocked(w *waiter) {
	for i, q := range l.queue {
		if q == w {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			return
		}
	}
}

// pruneLocked drops grants that have left the window: a closed grant at t
// occupies the window until t+Window.
func (l *Limiter) pruneLocked(now time.Time) {
	for l.leaves.len() > 0 && !l.leaves.at(0).After(now) {
		l.leaves.pop()
	}
}

// takenLocked is the number of this process's grants in the window.
func (l *Limiter) takenLocked() int { return l.openGrants + l.leaves.len() }

// dispatchLocked grants waiters at the head of the queue while slots are
// free now. With a shared window, slots taken by other processes count, and
// each grant is recorded there before the caller sends.
func (l *Limiter) dispatchLocked() {
	now := l.clock.Now()
	l.pruneLocked(now)
	if len(l.queue) == 0 {
		if l.shared != nil {
			l.shared.note(l, now) // a wait that was cancelled is over too
		}
		return
	}
	if now.Before(l.pausedUntil) {
		return
	}
	if l.shared != nil && l.perMinute > 0 && l.shared.dispatch(l, now) {
		return
	}
	for len(l.queue) > 0 && (l.perMinute <= 0 || l.takenLocked() < l.perMinute) {
		close(l.grantHeadLocked(now).ready)
	}
}

// grantHeadLocked grants the head waiter at now and returns it; the caller
// closes its ready channel to let it send.
func (l *Limiter) grantHeadLocked(now time.Time) *waiter {
	w := l.queue[0]
	l.queue = l.queue[1:]
	w.grant = &grant{at: now, open: w.open}
	switch {
	case l.perMinute <= 0:
	case w.open:
		l.openGrants++
	default:
		l.leaves.insert(now.Add(Window))
	}
	return w
}

// nextFreeLocked is when the head waiter can next be granted; ok is false
// when that waits on open grants being released rather than on the clock.
// Other processes' requests leave the window at fixed times, so they only
// add times to wait for.
func (l *Limiter) nextFreeLocked() (next time.Time, ok bool) {
	next = l.pausedUntil
	var others []time.Time
	if sh := l.shared; sh != nil {
		if sh.closedUntil.After(next) {
			next = sh.closedUntil
		}
		others = sh.others
	}
	taken := l.takenLocked() + len(others)
	if l.perMinute <= 0 || taken < l.perMinute {
		return next, true
	}
	// A slot frees when need closed grants have left the window: the
	// need-th earliest of this process's leaves and the others' ends, both
	// sorted.
	need := taken - l.perMinute + 1
	if l.leaves.len()+len(others) < need {
		return time.Time{}, false
	}
	if at := nthEarliest(&l.leaves, others, need); at.After(next) {
		next = at
	}
	if sh := l.shared; sh != nil && sh.othersOpen {
		// Another process's request in flight ends its slot up to
		// window.OpenMax after its grant; its answer moves that end (to a
		// window after the answer), so look again.
		if again := l.clock.Now().Add(recheckOpen); again.Before(next) {
			next = again
		}
	}
	return next, true
}

// armLocked makes sure one clock timer will wake the limiter when the head
// waiter can next be granted, and that no timer is armed when nobody waits.
func (l *Limiter) armLocked() {
	if len(l.queue) == 0 {
		l.disarmLocked()
		return
	}
	at, ok := l.nextFreeLocked()
	if !ok {
		l.disarmLocked() // release will dispatch
		return
	}
	if l.timerStop != nil && l.timerAt.Equal(at) {
		return
	}
	l.disarmLocked()
	stop := make(chan struct{})
	t := l.clock.NewTimer(at.Sub(l.clock.Now()))
	l.timerAt, l.timer, l.timerStop = at, t, stop
	go l.wake(t, stop)
}

func (l *Limiter) disarmLocked() {
	if l.timerStop != nil {
		// Stop synchronously so that a fake clock never sees a stale timer.
		l.timer.Stop()
		close(l.timerStop)
		l.timerStop, l.timer, l.timerAt = nil, nil, time.Time{}
	}
}

// wake runs while a timer is armed; when it fires it grants what it can and
// arms the next timer.
func (l *Limiter) wake(t clock.Timer, stop chan struct{}) {
	select {
	case <-t.C():
	case <-stop:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timerStop != stop {
		return // retired while the timer fired
	}
	l.timerStop, l.timer, l.timerAt = nil, nil, time.Time{}
	l.dispatchLocked()
	l.armLocked()
}

// LimiterSet hands out one Limiter per API key, so that every client of a
// process using the same key shares its limit. Keys are held only as
// SHA-256 hashes.
type LimiterSet struct {
	clock clock.Clock

	mu       sync.Mutex // guards limiters
	limiters map[string]*Limiter
}

// NewLimiterSet returns an empty set whose limiters use clock c.
func NewLimiterSet(c clock.Clock) *LimiterSet {
	return &LimiterSet{clock: c, limiters: map[string]*Limiter{}}
}

// For returns the limiter of key, creating it with perMinute on first use.
// Later calls return the same limiter whatever perMinute they pass.
func (s *LimiterSet) For(key string, perMinute int) *Limiter {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.limiters[h]; ok {
		return l
	}
	l := NewLimiter(perMinute, s.clock)
	s.limiters[h] = l
	return l
}

// timeQueue is a queue of times kept sorted, earliest first, as a ring:
// times are inserted from the back (in order, unless the clock stepped
// back) and popped from the front, both in constant time.
type timeQueue struct {
	buf  []time.Time // ring storage; len is a power of two, or 0
	head int         // index of the earliest time
	n    int         // number of times held
}

func (q *timeQueue) len() int { return q.n }

// at returns the i-th earliest time.
func (q *timeQueue) at(i int) time.Time { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *timeQueue) set(i int, t time.Time) { q.buf[(q.head+i)&(len(q.buf)-1)] = t }

// pop drops the earliest time.
func (q *timeQueue) pop() {
	q.set(0, time.Time{})
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
}

// insert adds t in its place: at the back unless a later time is there.
func (q *timeQueue) insert(t time.Time) {
	if q.n == len(q.buf) {
		grown := make([]time.Time, max(16, 2*len(q.buf)))
		for i := range q.n {
			grown[i] = q.at(i)
		}
		q.buf, q.head = grown, 0
	}
	i := q.n
	q.n++
	for ; i > 0 && q.at(i-1).After(t); i-- {
		q.set(i, q.at(i-1))
	}
	q.set(i, t)
}

// nthEarliest returns the n-th earliest (1-based) of the times in q and in
// sorted, which holds at least n times between them.
func nthEarliest(q *timeQueue, sorted []time.Time, n int) time.Time {
	i, j := 0, 0
	var t time.Time
	for range n {
		if j >= len(sorted) || (i < q.len() && q.at(i).Before(sorted[j])) {
			t = q.at(i)
			i++
		} else {
			t = sorted[j]
			j++
		}
	}
	return t
}
