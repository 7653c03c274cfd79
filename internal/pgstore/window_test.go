package pgstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/window"
)

const testKey = "xp_live_secret_key_123"

func countEntries(t *testing.T, w *WindowStore) int {
	t.Helper()
	var n int
	if err := w.Update(context.Background(), func(l *window.Ledger) bool { n = len(l.Entries); return false }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWindowSharedAcrossRunners: two runners (two stores, two connection
// pools) on one key add to one ledger, and no update is lost when they
// race; another key, or another service, has its own.
func TestWindowSharedAcrossRunners(t *testing.T) {
	conn := pgtest.Database(t)
	a := openTest(t, conn, "c1", "a").Window("http://api/", testKey, nil)
	b := openTest(t, conn, "c2", "b").Window("http://api", testKey, nil)
	now := time.Now()
	const each = 40
	var wg sync.WaitGroup
	for i, w := range []*WindowStore{a, b} {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each / 4 {
					err := w.Update(context.Background(), func(l *window.Ledger) bool {
						l.Add([]string{"owner-a", "owner-b"}[i], 0, now, false)
						return true
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if got := countEntries(t, a); got != 2*each {
		t.Errorf("ledger holds %d entries after %d racing updates, want every one", got, 2*each)
	}
	var own, others int
	_ = b.Update(context.Background(), func(l *window.Ledger) bool { own, others = l.Count("owner-b"); return false })
	if own != each || others != each {
		t.Errorf("runner b counts %d own and %d others, want %d and %d", own, others, each, each)
	}
	store := openTest(t, conn, "c3", "x")
	for _, w := range []*WindowStore{store.Window("http://api", "another key", nil), store.Window("http://other", testKey, nil)} {
		if got := countEntries(t, w); got != 0 {
			t.Errorf("%s holds %d entries, want its own empty ledger", w.Where(), got)
		}
	}
}

func TestWindowNeverStoresTheKey(t *testing.T) {
	conn := pgtest.Database(t)
	s := openTest(t, conn, "c", "a")
	w := s.Window("http://api", testKey, nil)
	if err := w.Update(context.Background(), func(l *window.Ledger) bool { l.Add("o", 1, time.Now(), false); return true }); err != nil {
		t.Fatal(err)
	}
	var rows string
	if err := s.Pool().QueryRow(context.Background(), "SELECT string_agg(key_hash || ledger::text, ' ') FROM xpflow_windows").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rows, testKey) || strings.Contains(w.Where(), testKey) || rows == "" {
		t.Errorf("window rows %q / where %q: want a ledger that never holds the key", rows, w.Where())
	}
}

func TestWindowRebuildsCorruptLedger(t *testing.T) {
	conn := pgtest.Database(t)
	s := openTest(t, conn, "c", "a")
	var warnings []string
	w := s.Window("http://api", testKey, func(m string) { warnings = append(warnings, m) })
	if _, err := s.Pool().Exec(context.Background(), "INSERT INTO xpflow_windows (key_hash, ledger) VALUES ($1, '{\"version\": 99}')", w.keyHash); err != nil {
		t.Fatal(err)
	}
	if got := countEntries(t, w); got != 0 {
		t.Errorf("corrupt ledger read as %d entries", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "unreadable") {
		t.Errorf("warnings %q, want one about the unreadable ledger", warnings)
	}
	if got := countEntries(t, w); got != 0 || len(warnings) != 1 {
		t.Errorf("after the rebuild: %d entries, warnings %q; want an empty ledger, no new warning", got, warnings)
	}
}
