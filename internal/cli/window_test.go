package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/window"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// fillLedger records n requests of another xpflow process at at in the
// ledger the environment's key uses.
func fillLedger(t *testing.T, env map[string]string, n int, at time.Time) {
	t.Helper()
	s, err := window.OpenFile(env[window.EnvCacheDir], window.Name(env["XPILOT_BASE_URL"], env["XPILOT_API_KEY"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(context.Background(), func(l *window.Ledger) bool {
		for i := range n {
			l.Add("other-run", uint64(i+1), at, false)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestApplyWaitsOnOtherRunsAndSaysSo fills all but one slot of the key's
// window with another run's requests that leave it in about a second: the
// plan's catalog request takes the last slot, then apply -json waits for
// them, says why in a window event, and finishes.
func TestApplyWaitsOnOtherRunsAndSaysSo(t *testing.T) {
	run, env := startSim(t)
	env["XPILOT_RATE_LIMIT"] = "6"
	frees := time.Now().Add(1500 * time.Millisecond)
	fillLedger(t, env, 5, frees.Add(-window.Window-window.Grace))
	dir := copyDir(t, "testdata/quick")
	r := invocation{args: []string{"apply", "-auto-approve", "-json", dir}, env: env}.run(t)
	if r.code != 0 {
		t.Fatalf("apply exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if ev["type"] == "window" {
			delete(ev, "time")
			got = append(got, ev)
		}
	}
	want := []map[string]any{
		{"type": "window", "waiting": true, "others": 5.0, "closed_until": nil,
			"message": "waiting: 5 requests from other xpflow runs in the last minute"},
		{"type": "window", "waiting": false, "others": 0.0, "closed_until": nil,
			"message": "the shared request window has room again"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("window events (-want +got):\n%s", diff)
	}
	log := run.Server.Log()
	if len(log) < 2 || log[0].Endpoint != "models" {
		t.Fatalf("log = %+v, want the catalog request first", log)
	}
	for _, req := range log[1:] {
		if req.At.Before(frees) {
			t.Errorf("%s %s sent at %s, before the other run's requests left the window at %s",
				req.Method, req.Path, req.At.Format(time.StampMilli), frees.Format(time.StampMilli))
		}
	}
}

// TestWindowCommand shows the window after a models call, and shows that
// -simulate keeps no ledger.
func TestWindowCommand(t *testing.T) {
	_, env := startSim(t)
	if r := (invocation{args: []string{"models", "-simulate"}, env: env}).run(t); r.code != 0 {
		t.Fatalf("models -simulate: %d %s", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(env[window.EnvCacheDir]); len(ents) != 0 {
		t.Errorf("-simulate wrote %d files in the cache directory, want none", len(ents))
	}
	if r := (invocation{args: []string{"models"}, env: env}).run(t); r.code != 0 {
		t.Fatalf("models: %d %s", r.code, r.stderr)
	}
	r := invocation{args: []string{"window", "-json"}, env: env}.run(t)
	if r.code != 0 {
		t.Fatalf("window -json: %d %s", r.code, r.stderr)
	}
	var got windowUse
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := windowUse{BaseURL: env["XPILOT_BASE_URL"], Limit: 600, InWindow: 1, Processes: 1,
		Ledger: filepath.Join(env[window.EnvCacheDir], window.Name(env["XPILOT_BASE_URL"], testKey))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("window -json (-want +got):\n%s", diff)
	}
	r = invocation{args: []string{"window"}, env: env}.run(t)
	if !strings.Contains(r.stdout, "1 of 600 requests in the last minute, from 1 xpflow run on") {
		t.Errorf("window printed:\n%s", r.stdout)
	}
	noKey := invocation{args: []string{"window"}, env: map[string]string{window.EnvCacheDir: t.TempDir()}}.run(t)
	if noKey.code != ExitError || !strings.Contains(noKey.stderr, "XPILOT_API_KEY is not set") {
		t.Errorf("window without a key: %d %q", noKey.code, noKey.stderr)
	}
}

func TestCorruptLedgerWarnsAndGoesOn(t *testing.T) {
	_, env := startSim(t)
	path := filepath.Join(env[window.EnvCacheDir], window.Name(env["XPILOT_BASE_URL"], testKey))
	if err := os.WriteFile(path, []byte(`{"version":1,"entries":[{"own`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := invocation{args: []string{"models"}, env: env}.run(t)
	if r.code != 0 {
		t.Fatalf("models with a corrupt ledger: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "unreadable") || !strings.Contains(r.stderr, path) {
		t.Errorf("stderr = %q, want a warning naming the ledger", r.stderr)
	}
}

// TestViewsShowWaitsOnOtherRuns checks the line each view prints for a
// window note, and the live view's budget counting other runs.
func TestViewsShowWaitsOnOtherRuns(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 12, 3, 0, time.UTC)
	notes := []xpilot.WindowNote{
		{Time: at, Waiting: true, Others: 12},
		{Time: at, Waiting: true, ClosedUntil: at.Add(5 * time.Second)},
		{Time: at.Add(2 * time.Second), Waiting: false},
	}
	var out bytes.Buffer
	lv := newLineView(&Env{Stdout: &out, Getenv: func(string) string { return "" }})
	for _, n := range notes {
		lv.Window(n)
	}
	want := "2026-12-01T09:12:03Z          window        waiting: 12 requests from other xpflow runs in the last minute\n" +
		"2026-12-01T09:12:03Z          window        waiting: the API refused this key until 09:12:08 (a 429 seen by an xpflow run)\n" +
		"2026-12-01T09:12:05Z          window        the shared request window has room again\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("line view (-want +got):\n%s", diff)
	}

	dir := t.TempDir()
	name := window.Name("http://x", testKey)
	other, err := window.OpenFile(dir, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Update(context.Background(), func(l *window.Ledger) bool {
		l.Add("other-run", 1, time.Now(), false)
		l.Add("other-run", 2, time.Now(), false)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	mine, err := window.OpenFile(dir, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := xpilot.NewSharedLimiter(30, nil, mine, nil)
	if err := l.Wait(context.Background(), xpilot.PrioritySubmit); err != nil {
		t.Fatal(err)
	}
	live := &liveView{limiter: l}
	if got, want := live.requestsText(), "requests 3/30 a min (2 by other runs)"; got != want {
		t.Errorf("live budget = %q, want %q", got, want)
	}
}
