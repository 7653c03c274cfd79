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
}

// NewSharedLimiter returns a limiter like NewLimiter whose window is shared
// with every other process using store: their requests take slots, its
// grants are recorded there before the caller sends, and a Pause closes the
// key for all of them. Inside the process waiters keep their priorities;
// between processes, a slot goes to whichever asks first. If the store
// fails (a lock busy for window.LockTimeout, an unwritable directory), warn
// receives one line and the limiter goes on with its own requests alone.
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
// It returns false when the ledger could not be used; sharing is then off
// for good and the caller dispatches on its own. Caller holds l.mu.
func (sh *sharedWindow) dispatch(l *Limiter, now time.Time) bool {
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
		sh.fail(l, err)
		return false
	}
	sh.note(l, now)
	return true
}

// close records a 429's pause in the ledger. Caller holds l.mu.
func (sh *sharedWindow) close(l *Limiter, until time.Time) {
	err := sh.store.Update(context.Background(), func(led *window.Ledger) bool {
		now := l.clock.Now()
		led.Prune(now)
		led.Close(now, until)
		sh.closedUntil = led.ClosedUntil
		return true
	})
	if err != nil {
		sh.warn(fmt.Sprintf("warning: could not record the 429 in the shared request window: %v", err))
	}
}

// closeEntry dates the entry seq from now, when its answer came back.
// Caller holds l.mu.
func (sh *sharedWindow) closeEntry(l *Limiter, seq uint64) {
	err := sh.store.Update(context.Background(), func(led *window.Ledger) bool {
		return led.CloseEntry(sh.owner, seq, l.clock.Now())
	})
	if err != nil {
		sh.fail(l, err)
	}
}

// fail turns sharing off after the ledger failed. Caller holds l.mu.
func (sh *sharedWindow) fail(l *Limiter, err error) {
	sh.warn(fmt.Sprintf("warning: the request window shared with other xpflow runs is unusable (%v); "+
		"going on with this run's own requests only", err))
	sh.others, sh.othersOpen, sh.closedUntil = nil, false, time.Time{}
	if sh.blocked {
		sh.blocked = false
		sh.send(WindowNote{Time: l.clock.Now()})
	}
	l.shared = nil
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
