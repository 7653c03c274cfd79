package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/window"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// sharedLimiter returns the limiter of cfg's key shared with every other
// xpflow process on the machine through the window ledger in the cache
// directory. When no ledger can be opened it warns and returns nil: the
// client then limits its own requests alone.
func sharedLimiter(env *Env, cfg xpilot.Config) *xpilot.Limiter {
	warn := stderrWarner(env)
	dir, err := window.Dir(env.Getenv)
	var store *window.FileStore
	if err == nil {
		store, err = window.OpenFile(dir, window.Name(cfg.BaseURL, cfg.APIKey), warn)
	}
	if err != nil {
		warn(fmt.Sprintf("warning: no request window shared with other xpflow runs (%v); this run counts its own requests only", err))
		return nil
	}
	return xpilot.NewSharedLimiter(cfg.RequestsPerMinute, cfg.Clock, store, warn)
}

// stderrWarner returns a function printing one line per warning on
// stderr; it is safe for concurrent use.
func stderrWarner(env *Env) func(string) {
	var mu sync.Mutex
	return func(line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(env.Stderr, line)
	}
}

// windowRelay passes the notes of a shared limiter to whoever shows them:
// stderr by default, apply's view while it runs.
type windowRelay struct {
	mu   sync.Mutex // guards to
	to   func(xpilot.WindowNote)
	stop chan struct{}
	done chan struct{}
}

// relayWindow starts passing l's notes to lines on env.Stderr.
func relayWindow(env *Env, l *xpilot.Limiter) *windowRelay {
	r := &windowRelay{stop: make(chan struct{}), done: make(chan struct{})}
	warn := stderrWarner(env)
	r.to = func(n xpilot.WindowNote) {
		if n.Waiting {
			warn(n.String())
		}
	}
	notes := l.Notes()
	go func() {
		defer close(r.done)
		for {
			select {
			case n := <-notes:
				// Delivered under mu, so that after send returns no note
				// reaches the previous destination.
				r.mu.Lock()
				r.to(n)
				r.mu.Unlock()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

// send makes the relay pass notes to fn from now on.
func (r *windowRelay) send(fn func(xpilot.WindowNote)) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to = fn
}

// close stops the relay and waits for it.
func (r *windowRelay) close() {
	if r == nil {
		return
	}
	close(r.stop)
	<-r.done
}

// windowObserver is a view that shows waits on other processes.
type windowObserver interface {
	Window(xpilot.WindowNote)
}

// runWindow shows how much of the key's request window xpflow runs on this
// machine are using, from the shared ledger; it sends no request.
func runWindow(env *Env, args []string) error {
	fs := newFlags(env, "window", "")
	asJSON := fs.Bool("json", false, "print the window as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := xpilot.ConfigFromEnv(env.Getenv, xpilot.Config{})
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if cfg.APIKey == "" {
		return &ExitErr{Code: ExitError, Err: errors.New("XPILOT_API_KEY is not set: the window belongs to a key")}
	}
	dir, err := window.Dir(env.Getenv)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	store, err := window.OpenFile(dir, window.Name(cfg.BaseURL, cfg.APIKey), stderrWarner(env))
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	now := time.Now()
	var led window.Ledger
	if err := store.Update(context.Background(), func(l *window.Ledger) bool {
		l.Prune(now)
		led = *l
		return false
	}); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	use := windowUseOf(&led, now, cfg, store.Where())
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(use)
	}
	use.print(env.Stdout)
	return nil
}

// windowUse is the output of xpflow window; its JSON form is documented in
// docs/window.md.
type windowUse struct {
	BaseURL     string  `json:"base_url"`
	Ledger      string  `json:"ledger"`
	Limit       int     `json:"limit_per_minute"`
	InWindow    int     `json:"in_window"`
	InFlight    int     `json:"in_flight"`
	Processes   int     `json:"processes"`
	ClosedUntil *string `json:"closed_until"`
	NextFree    *string `json:"next_free"`
}

func windowUseOf(led *window.Ledger, now time.Time, cfg xpilot.Config, where string) windowUse {
	u := windowUse{BaseURL: cfg.BaseURL, Ledger: where, Limit: cfg.RequestsPerMinute, InWindow: len(led.Entries)}
	owners := map[string]bool{}
	var first time.Time
	for _, e := range led.Entries {
		owners[e.Owner] = true
		if e.Open {
			u.InFlight++
		}
		if first.IsZero() || e.End().Before(first) {
			first = e.End()
		}
	}
	u.Processes = len(owners)
	stamp := func(t time.Time) *string { s := t.UTC().Format(time.RFC3339); return &s }
	if !led.ClosedUntil.IsZero() {
		u.ClosedUntil = stamp(led.ClosedUntil)
	}
	if u.InWindow >= u.Limit && !first.IsZero() {
		u.NextFree = stamp(first)
	}
	return u
}

func (u windowUse) print(w io.Writer) {
	fmt.Fprintf(w, "Request window of the key at %s\n", u.BaseURL)
	fmt.Fprintf(w, "  %d of %d requests in the last minute, from %s on this machine", u.InWindow, u.Limit, plural(u.Processes, "xpflow run", "xpflow runs"))
	if u.InFlight > 0 {
		fmt.Fprintf(w, " (%d in flight)", u.InFlight)
	}
	fmt.Fprintln(w)
	if u.ClosedUntil != nil {
		fmt.Fprintf(w, "  closed until %s by a 429 (Retry-After)\n", *u.ClosedUntil)
	}
	if u.NextFree != nil {
		fmt.Fprintf(w, "  full: the next slot frees at %s\n", *u.NextFree)
	}
	fmt.Fprintf(w, "  ledger: %s\n", u.Ledger)
}
