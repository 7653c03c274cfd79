package xpilot

import (
	"context"
	"fmt"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/window"
)

// recheckOpen is how often a limiter waiting on other processes' requests
// in flight reads the shared window again.
const recheckOpen = time.Second

// While the shared window cannot be used (a database restarting, a lock
// busy), a limiter counts its own requests alone and tries the store again
// after retryFirst, doubling the wait after each failure up to retryMax.
const (
	retryFirst = time.Second
	retryMax   = 30 * time.Second
)

// WindowNote tells that requests started or stopped waiting on other
// processes using the same key: their requests fill the window, or a 429
// one of them saw closed it.
type WindowNote struct {
	// Time is when the wait started or ended.
	Time time.Time
	// Waiting is true when the wait starts, false when it ends.
	Waiting bool
	// Others is the number of other processes' requests in the window.
	Others int
	// ClosedUntil is when a 429 recorded in the shared window lets the key
	// send again; zero when the wait is on Others alone.
	ClosedUntil time.Time
}

// String describes the note for people.
func (n WindowNote) String() string {
	switch {
	case !n.Waiting:
		return "the shared request window has room again"
	case !n.ClosedUntil.IsZero():
		return fmt.Sprintf("waiting: the API refused this key until %s (a 429 seen by an xpflow run)",
			n.ClosedUntil.UTC().Format("15:04:05"))
	}
	return fmt.Sprintf("waiting: %d requests from other xpflow runs in the last minute", n.Others)
}

// sharedWindow is a Limiter's view of the window shared through a
// window.Store. Every field is guarded by the Limiter's mu.
type sharedWindow struct {
	store       window.Store
	owner       string       // this limiter's token in the ledger
	warn        func(string) // receives one line when the ledger fails
	others      []time.Time  // when other processes' requests leave the window, earliest first
	closedUntil time.Time    // the ledger's closed-until at the last look
	blocked     bool         // the head waiter waits on others
	seq         uint64       // numbers this limiter's entries
	othersOpen  bool         // some of others are requests in flight
	notes       chan WindowNote

	// While down, the store failed and the limiter counts its own requests
	// alone until retryAt, when it tries the store again; the grants made
	// meanwhile (offline), the entries that could not be closed (unclosed)
	// and a 429's pause (closeAt) are recorded once it answers.
	down     bool
	retryAt  time.Time
	backoff  time.Duration
	offline  []*grant
	unclosed []*grant
	closeAt  time.Time
}

// NewSharedLimiter returns a limiter like NewLimiter whose window is shared
// with every other process using store: their requests take slots, its
// grants are recorded there before the caller sends, and a Pause closes the
// key for all of them. Inside the process waiters keep their priorities;
// between processes, a slot goes to whichever asks first. If the store
// fails (a lock busy for window.LockTimeout, an unwritable directory), warn
// receives one line and the limiter goes on with its own requests alone,
// trying the store again after a second, then after twice as long each time
// (at most 30 s apart); once it answers, the requests made meanwhile are
// recorded there, sharing resumes, and warn receives one line saying so.
func NewSharedLimiter(perMinute int, c clock.Clock, store window.Store, warn func(string)) *Limiter {
	l := NewLimiter(perMinute, c)
	if warn == nil {
		warn = func(string) {}
	}
	l.shared = &sharedWindow{store: store, owner: window.NewOwner(), warn: warn, notes: make(chan WindowNote, 64)}
	return l
}

// Notes returns the channel that receives a WindowNote whenever requests
// start or stop waiting on other processes; nil for a limiter that is not
// shared. Notes that find the channel full are dropped.
func (l *Limiter) Notes() <-chan WindowNote {
	if l.shared == nil {
		return nil
	}
	return l.shared.notes
}

// dispatch grants what the shared window allows at now, recording each
// grant in it; a granted caller is let go only once the ledger is written.
// While the ledger cannot be used it grants what this limiter's own window
// allows, and tries the ledger again once its backoff has passed. It
// always returns true: the caller has nothing more to dispatch. Caller
// holds l.mu.
func (sh *sharedWindow) dispatch(l *Limiter, now time.Time) bool {
	if sh.down && now.Before(sh.retryAt) {
		sh.dispatchAlone(l, now)
		return true
	}
	var granted []*waiter
	defer func() {
		for _, w := range granted {
			close(w.ready)
		}
	}()
	err := sh.store.Update(context.Background(), func(led *window.Ledger) bool {
		// Read the time under the ledger's lock: every entry written
		// before is then dated no later than now, unless the clock jumped.
		now = l.clock.Now()
		l.pruneLocked(now)
		dirty := led.Prune(now)
		if sh.down {
			sh.restore(led, now)
			dirty = true
		}
		sh.others, sh.othersOpen = led.Others(sh.owner)
		sh.closedUntil = led.ClosedUntil
		if now.Before(led.ClosedUntil) {
			return dirty
		}
		for len(l.queue) > 0 && l.takenLocked()+len(sh.others) < l.perMinute {
			w := l.grantHeadLocked(now)
			sh.seq++
			w.grant.seq = sh.seq
			led.Add(sh.owner, sh.seq, now, w.open)
			granted = append(granted, w)
			dirty = true
		}
		return dirty
	})
	if err != nil {
		for _, w := range granted {
			w.grant.seq = 0 // not in the ledger after all
			sh.offline = append(sh.offline, w.grant)
		}
		sh.fail(l, err)
		sh.dispatchAlone(l, l.clock.Now())
		return true
	}
	if sh.down {
		sh.down, sh.backoff, sh.offline, sh.unclosed, sh.closeAt = false, 0, nil, nil, time.Time{}
		sh.warn("the request window shared with other xpflow runs answers again; sharing it again")
	}
	sh.note(l, now)
	return true
}

// dispatchAlone grants what this limiter's own window allows, as a limiter
// that is not shared would, and keeps the grants to record in the ledger
// once it answers again. Caller holds l.mu.
func (sh *sharedWindow) dispatchAlone(l *Limiter, now time.Time) {
	for len(l.queue) > 0 && l.takenLocked() < l.perMinute {
		w := l.grantHeadLocked(now)
		sh.offline = append(sh.offline, w.grant)
		close(w.ready)
	}
	// Forget what has left the window: a long outage keeps at most a
	// window of grants.
	keep := sh.offline[:0]
	for _, g := range sh.offline {
		if g.open || g.at.Add(Window).After(now) {
			keep = append(keep, g)
		}
	}
	clear(sh.offline[len(keep):])
	sh.offline = keep
}

// restore records in led what this limiter did while the ledger could not
// be used: its grants still in the window (open or closed, each as it is
// now), the answers to requests granted before, and a 429's pause.
func (sh *sharedWindow) restore(led *window.Ledger, now time.Time) {
	for _, g := range sh.offline {
		if !g.open && !g.at.Add(Window).After(now) {
			continue
		}
		sh.seq++
		g.seq = sh.seq
		led.Add(sh.owner, g.seq, g.at, g.open)
	}
	for _, g := range sh.unclosed {
		if !g.open {
			led.CloseEntry(sh.owner, g.seq, g.at)
		}
	}
	if sh.closeAt.After(now) {
		led.Close(now, sh.closeAt)
	}
}

// close records a 429's pause in the ledger. Caller holds l.mu.
func (sh *sharedWindow) close(l *Limiter, until time.Time) {
	if until.After(sh.closeAt) {
		sh.closeAt = until // recorded on restore if the ledger is down
	}
	if sh.down {
		return
	}
	err := sh.store.Update(context.Background(), func(led *window.Ledger) bool {
		now := l.clock.Now()
		led.Prune(now)
		led.Close(now, until)
		sh.closedUntil = led.ClosedUntil
		return true
	})
	if err != nil {
		sh.fail(l, err)
	}
}

// closeEntry dates g's entry from now, when its answer came back. Caller
// holds l.mu.
func (sh *sharedWindow) closeEntry(l *Limiter, g *grant) {
	if sh.down {
		sh.unclosed = append(sh.unclosed, g)
		return
	}
	err := sh.store.Update(context.Background(), func(led *window.Ledger) bool {
		return led.CloseEntry(sh.owner, g.seq, l.clock.Now())
	})
	if err != nil {
		sh.unclosed = append(sh.unclosed, g)
		sh.fail(l, err)
	}
}

// fail suspends sharing after the ledger failed: the limiter counts its own
// requests alone until the ledger is tried again, after a backoff. The
// first failure of an outage is told once. Caller holds l.mu.
func (sh *sharedWindow) fail(l *Limiter, err error) {
	now := l.clock.Now()
	if !sh.down {
		sh.warn(fmt.Sprintf("warning: the request window shared with other xpflow runs is unusable (%v); "+
			"going on with this run's own requests only, and trying it again", err))
		sh.down, sh.backoff = true, retryFirst
	} else {
		sh.backoff = min(2*sh.backoff, retryMax)
	}
	sh.retryAt = now.Add(sh.backoff)
	sh.others, sh.othersOpen, sh.closedUntil = nil, false, time.Time{}
	if sh.blocked {
		sh.blocked = false
		sh.send(WindowNote{Time: now})
	}
}

// note sends a WindowNote when the head waiter starts or stops waiting on
// other processes. Caller holds l.mu.
func (sh *sharedWindow) note(l *Limiter, now time.Time) {
	closed := now.Before(sh.closedUntil) && !now.Before(l.pausedUntil) && sh.closedUntil.After(l.pausedUntil)
	taken := l.takenLocked()
	full := taken < l.perMinute && taken+len(sh.others) >= l.perMinute
	blocked := len(l.queue) > 0 && (closed || full)
	if blocked == sh.blocked {
		return
	}
	sh.blocked = blocked
	n := WindowNote{Time: now, Waiting: blocked, Others: len(sh.others)}
	if closed {
		n.ClosedUntil = sh.closedUntil
	}
	sh.send(n)
}

func (sh *sharedWindow) send(n WindowNote) {
	select {
	case sh.notes <- n:
	default:
	}
}

// othersAt counts the other processes' requests still in the window at now.
func (sh *sharedWindow) othersAt(now time.Time) int {
	n := 0
	for _, end := range sh.others {
		if end.After(now) {
			n++
		}
	}
	return n
}
