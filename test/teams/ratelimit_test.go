//go:build !race

// These tests wait out the API's one-minute window, so they run once, in
// the plain `go test` pass: the race detector adds nothing to processes
// whose binary it does not instrument.

package teams

import (
	"fmt"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
)

// applyAll starts one runner per key in keys (runner i uses keys[i]) on a
// fresh campaign of n products, texts and images only (-target of every
// image), and returns the makespan and the 429 answers.
func applyAll(t *testing.T, n int, keys []string) (time.Duration, int) {
	t.Helper()
	opts := []sim.Option{sim.WithRateLimit(30)}
	for _, k := range keys {
		opts = append(opts, sim.WithKey(k, 10_000_000))
	}
	run, err := sim.Start("", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	tm := newTeam(t, n)
	args := []string{"apply", "-auto-approve"}
	for i := 1; i <= n; i++ {
		args = append(args, "-target", fmt.Sprintf(`image.hero["p%02d"]`, i))
	}
	start := time.Now()
	var procs []*proc
	for i, k := range keys {
		// XPILOT_RATE_LIMIT is the documented 30 here, as the simulator's.
		procs = append(procs, tm.start(fmt.Sprintf("r%d", i+1), run.URL, k, []string{"XPILOT_RATE_LIMIT=30"},
			append(args, tm.machine())...))
	}
	for _, p := range procs {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Errorf("runner %s exited %d:\n%s", p.name, code, p.stderr)
		}
	}
	makespan := time.Since(start)
	tooMany := 0
	for _, r := range run.Server.Log() {
		if r.Status == 429 {
			tooMany++
		}
	}
	paid := charged(run.Server.Log())
	if len(paid) != 2*n {
		t.Errorf("%d assets paid, want %d", len(paid), 2*n)
	}
	for a, c := range paid {
		if c != 1 {
			t.Errorf("%s paid %d times", a, c)
		}
	}
	return makespan, tooMany
}

// TestRunnersShareAKeysWindow: two runners on two machines (separate
// cache directories, so only Postgres connects them) with one key, on a
// campaign of 34 requests, more than the key's 30 a minute: the server
// answers 0 of them 429. Three runners with three keys on the same
// campaign finish in at most 0.4 of the time ONE runner with one key
// needs: their windows add up.
//
// That one-runner baseline is not run (it would wait out the window once
// more, over a minute of CI time): it is its exact lower bound. One runner
// sends at least the campaign's 2n generates and one /models request, and
// with 30 requests allowed in any minute on a key whose window starts
// empty, the k-th request cannot go out before floor((k-1)/30) minutes.
// A real run only takes longer, so holding the ratio against the bound is
// at least as strict as holding it against a measured run. The two runners
// on one key must respect the same bound, which checks it.
func TestRunnersShareAKeysWindow(t *testing.T) {
	const n = 16 // 32 generates + one models request per runner
	const perMinute = 30
	requests := 2*n + 1
	oneRunnerBound := time.Duration((requests-1)/perMinute) * time.Minute
	if oneRunnerBound <= 0 {
		t.Fatalf("the campaign's %d requests fit in one window: it does not test the rate limit", requests)
	}
	oneKey, tooMany := applyAll(t, n, []string{apiKey, apiKey})
	if tooMany != 0 {
		t.Errorf("two runners on one key got %d answers of 429, want 0", tooMany)
	}
	if oneKey < oneRunnerBound {
		t.Errorf("two runners on one key took %.1f s, less than the %s any run of one key needs: the window was not respected",
			oneKey.Seconds(), oneRunnerBound)
	}
	threeKeys, tooMany := applyAll(t, n, []string{apiKey, apiKey + "_2", apiKey + "_3"})
	if tooMany != 0 {
		t.Errorf("three runners on three keys got %d answers of 429, want 0", tooMany)
	}
	ratio := threeKeys.Seconds() / oneRunnerBound.Seconds()
	t.Logf("makespan: 2 runners, 1 key %.1f s; 3 runners, 3 keys %.1f s; 1 runner, 1 key at least %s (3 keys: at most %.2fx of it)",
		oneKey.Seconds(), threeKeys.Seconds(), oneRunnerBound, ratio)
	if ratio > 0.4 {
		t.Errorf("three keys took %.2fx the time one runner with one key needs at the least, want at most 0.4x", ratio)
	}
}
