package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
)

var liveT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testLive is a live view that never redraws on its own: tests call frame
// and Close at chosen times.
func testLive(total, estimate, unpriced int) (*liveView, *bytes.Buffer) {
	var buf bytes.Buffer
	v := &liveView{w: &buf, pal: newPalette(false), now: func() time.Time { return liveT0 }, width: func() int { return 80 },
		total: total, estimate: estimate, unpriced: unpriced,
		assets: map[string]*liveAsset{}, finished: map[executor.Phase]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	close(v.done) // no loop runs
	return v, &buf
}

func at(s int) time.Time { return liveT0.Add(time.Duration(s) * time.Second) }

// TestLiveFrameFortyAssets: with 40 assets at 80 columns the frame shows at
// most liveMaxRows rows, a roll-up of every phase, a bar no narrower than
// its minimum, and no line wider than the terminal.
func TestLiveFrameFortyAssets(t *testing.T) {
	v, _ := testLive(40, 9600, 0)
	cost := 240
	for i := 0; i < 40; i++ {
		addr := fmt.Sprintf(`video.a_rather_long_block_name_for_a_spot["market-%02d"]`, i)
		v.Event(executor.Event{Time: at(0), Addr: addr, Phase: executor.PhaseQueued, ETA: 90 * time.Second})
		switch {
		case i < 9:
			v.Event(executor.Event{Time: at(1), Addr: addr, Phase: executor.PhaseSubmitting})
			v.Event(executor.Event{Time: at(2), Addr: addr, Phase: executor.PhaseSubmitted, CostCents: &cost})
			v.Event(executor.Event{Time: at(40), Addr: addr, Phase: executor.PhaseDone, Elapsed: 40 * time.Second})
		case i < 21:
			v.Event(executor.Event{Time: at(1), Addr: addr, Phase: executor.PhaseSubmitting})
			v.Event(executor.Event{Time: at(2), Addr: addr, Phase: executor.PhasePolling, CostCents: &cost})
		case i < 25:
			v.Event(executor.Event{Time: at(3), Addr: addr, Phase: executor.PhaseRateLimited})
		}
	}
	v.Event(executor.Event{Time: at(40), Addr: `video.a_rather_long_block_name_for_a_spot["market-20"]`, Phase: executor.PhasePolling, ETA: 30 * time.Second})
	frame := v.frame(at(50), 80)
	if got := len(frame); got != liveMaxRows+3 {
		t.Errorf("frame has %d lines, want %d rows + 'and more' + roll-up + status:\n%s", got, liveMaxRows, strings.Join(frame, "\n"))
	}
	if want := "  … and 23 more in flight"; frame[liveMaxRows] != want {
		t.Errorf("line after the rows: got %q, want %q", frame[liveMaxRows], want)
	}
	wantRollup := "  12 generating · 4 queued (rate limit) · 15 queued · 9 done"
	if diff := cmp.Diff(wantRollup, frame[len(frame)-2]); diff != "" {
		t.Errorf("roll-up (-want +got):\n%s", diff)
	}
	status := frame[len(frame)-1]
	wantStatus := "[=========-------------------------------]  9/40  spent $50.40 of ~$96.00  ETA 20s"
	if !strings.HasPrefix(status, "[") || !strings.Contains(status, "9/40  spent $50.40 of ~$96.00  ETA 20s") {
		t.Errorf("status line:\n got %q\nwant %q", status, wantStatus)
	}
	if bar := strings.Count(status, "=") + strings.Count(status, "-"); bar < liveMinBar {
		t.Errorf("bar is %d columns, want at least %d: %q", bar, liveMinBar, status)
	}
	for _, l := range frame {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line of %d columns at width 80: %q", n, l)
		}
	}
	if want := "  generating          video.a_rather_long_block_name_for_a_sp…[\"market-09\"]  49s"; frame[0] != want {
		t.Errorf("first row:\n got %q\nwant %q", frame[0], want)
	}
}

// TestLiveStatusKeepsTheBar: narrowing the terminal drops the request
// counter and then more text, never shrinks the bar below its minimum.
func TestLiveStatusKeepsTheBar(t *testing.T) {
	v, _ := testLive(12, 0, 12)
	for _, width := range []int{40, 60, 80, 120} {
		s := v.status(liveT0, width)
		bar := strings.Count(s[:strings.IndexByte(s, ']')], "-")
		if bar < liveMinBar || bar > liveMaxBar {
			t.Errorf("width %d: bar %d columns, want %d-%d: %q", width, bar, liveMinBar, liveMaxBar, s)
		}
		if width >= 60 && utf8.RuneCountInString(s) > width {
			t.Errorf("width %d: status is %d columns: %q", width, utf8.RuneCountInString(s), s)
		}
	}
	if s := v.status(liveT0, 120); !strings.Contains(s, "spent $0.00 (estimate unknown)") || strings.Contains(s, "~$0.00") {
		t.Errorf("an unpriced run shows its estimate as a number: %q", s)
	}
	if s := v.status(liveT0, 120); !strings.Contains(s, "ETA estimating") {
		t.Errorf("before any forecast the ETA must say so: %q", s)
	}
}

// TestLivePhasesAndFinishedLines: waiting for the rate limit reads apart
// from submitting and generating; a done line carries the asset's cost and
// how long it took from its submit; Close leaves no frame behind.
func TestLivePhasesAndFinishedLines(t *testing.T) {
	v, buf := testLive(3, 480, 0)
	cost := 240
	v.Event(executor.Event{Time: at(0), Addr: "video.a", Phase: executor.PhaseRateLimited, ETA: time.Minute})
	v.Event(executor.Event{Time: at(0), Addr: "video.b", Phase: executor.PhaseSubmitting, ETA: time.Minute})
	v.Event(executor.Event{Time: at(0), Addr: "video.c", Phase: executor.PhaseQueued, ETA: time.Minute})
	frame := v.frame(at(5), 80)
	if len(frame) != 5 {
		t.Fatalf("frame:\n%s", strings.Join(frame, "\n"))
	}
	for i, want := range []string{"  queued (rate limit) video.a  5s", "  submitting          video.b  5s", "  queued              video.c  5s"} {
		if frame[i] != want {
			t.Errorf("row %d:\n got %q\nwant %q", i, frame[i], want)
		}
	}
	if !strings.Contains(frame[4], "ETA 55s") {
		t.Errorf("ETA does not count down the scheduler's forecast: %q", frame[4])
	}
	v.Event(executor.Event{Time: at(10), Addr: "video.a", Phase: executor.PhaseSubmitting})
	v.Event(executor.Event{Time: at(11), Addr: "video.a", Phase: executor.PhaseSubmitted, CostCents: &cost})
	v.Event(executor.Event{Time: at(52), Addr: "video.a", Phase: executor.PhaseDone, Elapsed: 52 * time.Second, Message: "out/video.a.mp4"})
	v.Event(executor.Event{Time: at(53), Addr: "video.b", Phase: executor.PhaseFailed, Elapsed: 53 * time.Second, Message: "upstream generation failed"})
	v.mu.Lock()
	v.draw(true)
	v.mu.Unlock()
	v.Close()
	out := buf.String()
	for _, want := range []string{
		"  52.0s  done          video.a  $2.40  in 42s  out/video.a.mp4\n",
		"  53.0s  failed        video.b  upstream generation failed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	last := out[strings.LastIndex(out, "\x1b[J")+len("\x1b[J"):]
	if last != "" {
		t.Errorf("Close left a frame behind: %q", last)
	}
}

// TestLiveKeepsOnlyAssetsInFlight: at 10,000 assets the view holds the
// assets in flight, not every asset it has seen, and still counts and
// prints the finished ones.
func TestLiveKeepsOnlyAssetsInFlight(t *testing.T) {
	v, _ := testLive(10_000, 0, 0)
	cost := 5
	for i := range 10_000 {
		addr := fmt.Sprintf(`image.hero["p%05d"]`, i)
		v.Event(executor.Event{Time: at(0), Addr: addr, Phase: executor.PhaseQueued})
		if i%1000 == 0 {
			continue // stays in flight
		}
		v.Event(executor.Event{Time: at(1), Addr: addr, Phase: executor.PhaseSubmitting})
		v.Event(executor.Event{Time: at(2), Addr: addr, Phase: executor.PhaseDone, CostCents: &cost})
	}
	if got := len(v.assets); got != 10 {
		t.Errorf("view holds %d assets, want the 10 in flight", got)
	}
	if got := len(v.order); got != 10 {
		t.Errorf("frame order holds %d assets, want 10", got)
	}
	if got := v.finished[executor.PhaseDone]; got != 9990 {
		t.Errorf("finished done = %d, want 9990", got)
	}
	if got := len(v.pending); got != 9990 {
		t.Errorf("%d finished lines waiting to print, want 9990", got)
	}
	if v.spent != 9990*cost {
		t.Errorf("spent = %d, want %d", v.spent, 9990*cost)
	}
}

// TestLiveExpiredFinishes: an asset whose output URL expired is paid and
// recorded, so it ends its part in the run: it leaves the in-flight rows,
// gets a finished line, counts in the roll-up and fills the bar.
func TestLiveExpiredFinishes(t *testing.T) {
	v, buf := testLive(2, 480, 0)
	cost := 240
	v.Event(executor.Event{Time: at(0), Addr: "video.a", Phase: executor.PhaseSubmitting})
	v.Event(executor.Event{Time: at(1), Addr: "video.a", Phase: executor.PhaseSubmitted, CostCents: &cost})
	v.Event(executor.Event{Time: at(30), Addr: "video.a", Phase: executor.PhaseExpired, Elapsed: 30 * time.Second, Message: "output URL expired"})
	v.Event(executor.Event{Time: at(0), Addr: "video.b", Phase: executor.PhaseSubmitting})
	v.Event(executor.Event{Time: at(31), Addr: "video.b", Phase: executor.PhaseDone, Elapsed: 31 * time.Second})
	frame := v.frame(at(32), 80)
	if len(frame) != 2 {
		t.Fatalf("frame still shows in-flight rows after both assets finished:\n%s", strings.Join(frame, "\n"))
	}
	if want := "  1 done · 1 expired"; frame[0] != want {
		t.Errorf("roll-up: got %q, want %q", frame[0], want)
	}
	if !strings.HasPrefix(frame[1], "["+strings.Repeat("=", liveMaxBar)+"]  2/2 ") {
		t.Errorf("bar does not reach the total: %q", frame[1])
	}
	v.Close()
	if want := "  30.0s  expired       video.a  $2.40  output URL expired\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("no finished line %q in:\n%s", want, buf.String())
	}
}

// TestTruncateAddr: a row cuts the block name and keeps the instance key;
// with no key, or a key too long to keep, it cuts the end.
func TestTruncateAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		n    int
		want string
	}{
		{`video.spot["a"]`, 20, `video.spot["a"]`},
		{`video.a_long_name["market-09"]`, 21, `video.a…["market-09"]`},
		{`video.a_long_name_without_a_key`, 12, `video.a_lon…`},
		{`video.x["a key far longer than the room"]`, 12, `video.x["a …`},
	} {
		got := truncateAddr(tc.addr, tc.n)
		if got != tc.want || utf8.RuneCountInString(got) > tc.n {
			t.Errorf("truncateAddr(%q, %d) = %q, want %q", tc.addr, tc.n, got, tc.want)
		}
	}
}
