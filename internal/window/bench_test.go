package window

import (
	"context"
	"testing"
	"time"
)

// BenchmarkUpdate times one locked read-modify-write of a ledger holding a
// full window of 30 entries, as a grant does.
func BenchmarkUpdate(b *testing.B) {
	s, err := OpenFile(b.TempDir(), Name("http://bench", "k"), nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for b.Loop() {
		err := s.Update(context.Background(), func(l *Ledger) bool {
			l.Prune(now)
			if len(l.Entries) >= 30 {
				l.Entries = l.Entries[1:]
			}
			l.Add("me", 1, now, true)
			return true
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
