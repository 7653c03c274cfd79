package window

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkUpdate times one locked read-modify-write of a ledger, as a
// grant does, with a window holding 30 requests (the API's limit) and
// 4,000 (a limit set far above it): the cost must not grow with the
// window. Each operation prunes, adds an open entry and closes the
// previous one, while the clock moves so that one entry leaves per add.
func BenchmarkUpdate(b *testing.B) {
	for _, held := range []int{30, 4000} {
		b.Run(fmt.Sprintf("window=%d", held), func(b *testing.B) {
			s, err := OpenFile(b.TempDir(), Name("http://bench", "k"), nil)
			if err != nil {
				b.Fatal(err)
			}
			step := (Window + Grace) / time.Duration(held)
			now := time.Now()
			var seq uint64
			fill := func(l *Ledger) bool {
				now = now.Add(step)
				l.Prune(now)
				if seq > 0 {
					l.CloseEntry("me", seq, now)
				}
				seq++
				l.Add("me", seq, now, true)
				return true
			}
			for range held {
				if err := s.Update(context.Background(), fill); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if err := s.Update(context.Background(), fill); err != nil {
					b.Fatal(err)
				}
			}
			var n int
			_ = s.Update(context.Background(), func(l *Ledger) bool { n = len(l.Entries); return false })
			b.ReportMetric(float64(n), "entries")
		})
	}
}
