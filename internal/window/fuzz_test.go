package window

import (
	"context"
	"os"
	"testing"
	"time"
)

// FuzzLedger feeds arbitrary bytes as a ledger file: reading it never fails
// (a bad file is rebuilt empty), and what is written back always reads back
// as the same ledger.
func FuzzLedger(f *testing.F) {
	f.Add([]byte(`{"version":1,"closed_until":0,"entries":[{"owner":"ab","at":1764583200000000000}]}`))
	f.Add([]byte(`{"version":1,"closed_until":9223372036854775807,"entries":[]}`))
	f.Add([]byte(`{"version":1,"entries":[{"owner":"a","at":-5}]}`))
	f.Add([]byte(`{"version":1,"entries":[{"owner":"a","at":1`))
	f.Add([]byte{})
	f.Add([]byte("{\"xpflow_window\":2,\"gen\":\"0123456789abcdef\"}\n{\"closed_until\":1764583230000000000}\n" +
		"{\"owner\":\"ab\",\"seq\":3,\"at\":1764583200000000000,\"open\":true}\n{\"owner\":\"ab\",\"seq\":3,\"closed\":1764583201000000000}\n{\"own"))
	f.Add([]byte("{\"xpflow_window\":2,\"gen\":\"0123456789abcdef\"}\n{\"owner\":\"\",\"at\":5}\n"))
	dir := f.TempDir()
	now := time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := OpenFile(dir, Name("http://fuzz", "k"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.Where(), data, 0o600); err != nil {
			t.Fatal(err)
		}
		var after Ledger
		err = s.Update(context.Background(), func(l *Ledger) bool {
			l.Prune(now)
			if l.ClosedUntil.After(now.Add(Window)) {
				t.Errorf("closed until %v after pruning, beyond one window", l.ClosedUntil)
			}
			for _, e := range l.Entries {
				if e.At.After(now) || !e.End().After(now) {
					t.Errorf("entry %+v survived pruning at %v", e, now)
				}
			}
			l.Add("me", 1, now, true)
			after = *l
			return true
		})
		if err != nil {
			t.Fatalf("Update of a fuzzed ledger: %v", err)
		}
		b, err := os.ReadFile(s.Where())
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeFile(b)
		if err != nil {
			t.Fatalf("the rewritten ledger does not read back: %v", err)
		}
		// The file may still hold entries this reader pruned (until it
		// is compacted): a reader prunes them the same way.
		back.Prune(now)
		if len(back.Entries) != len(after.Entries) || !back.ClosedUntil.Equal(after.ClosedUntil) {
			t.Errorf("read back %+v, wrote %+v", back, after)
		}
	})
}
