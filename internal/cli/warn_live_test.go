package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

func TestApplyWarnsAboveLastKnownBalance(t *testing.T) {
	dir := quickDir(t)
	if r := (invocation{args: []string{"apply", "-simulate", "-auto-approve", dir}}).run(t); r.code != 0 {
		t.Fatalf("first apply: exit %d\n%s", r.code, r.stderr)
	}
	path := filepath.Join(dir, "xpflow.simulate.state.json")
	store, err := state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(func(st *state.State) error {
		st.Balance = &state.Balance{Cents: 3, At: time.Now()}
		return nil
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Observed prices now price the text and image models, so replacing
	// everything is estimated at 12 cents, above the 3 cents left.
	r := invocation{args: []string{"apply", "-simulate", "-auto-approve", "-replace", "text.line", dir}}.run(t)
	if !strings.Contains(r.stderr, "Warning: the estimate ($0.12) is above the last known balance ($0.03") {
		t.Errorf("want a balance warning on stderr, got exit %d:\n%s", r.code, r.stderr)
	}
}

func TestLiveViewRendersProgressAndFinishedLines(t *testing.T) {
	var buf bytes.Buffer
	lim := xpilot.NewLimiter(30, clock.Real())
	v := newLiveView(&buf, 2, 480, lim, false)
	cost := 240
	now := time.Now()
	v.Event(executor.Event{Time: now, Addr: `video.a`, Phase: executor.PhaseSubmitting})
	v.Event(executor.Event{Time: now, Addr: `video.a`, Phase: executor.PhaseSubmitted, CostCents: &cost})
	v.Event(executor.Event{Time: now, Addr: `video.b`, Phase: executor.PhasePolling})
	v.Event(executor.Event{Time: now, Addr: `video.a`, Phase: executor.PhaseDone, Message: "out/video.a/output.mp4"})
	v.Event(executor.Event{Time: now, Addr: `video.b`, Phase: executor.PhaseFailed, Message: "generation failed: nsfw"})
	v.Close()
	out := buf.String()
	for _, want := range []string{"video.a  out/video.a/output.mp4", "video.b  generation failed: nsfw", "assets 2/2", "spent $2.40 of"} {
		if !strings.Contains(out, want) {
			t.Errorf("live view output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[3") {
		t.Errorf("colour codes with colour off:\n%q", out)
	}
}
