package executor_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// testKey is the API key every harness simulator accepts.
const testKey = "xp_test_key"

// epoch is where every scaled clock of these tests starts.
var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// harness is one simulator on loopback, one client and one spec directory
// with its state file, driven the way the CLI drives them.
type harness struct {
	dir    string
	clock  clock.Clock
	sim    *sim.Running
	client *xpilot.Client
	state  string // state file path
}

// setup configures newHarness.
type setup struct {
	scale   float64 // clock speed-up; default 100
	credits int     // balance of testKey; default sim.DefaultCredits
	rpm     int     // sim and client rate limit; default 30
	sim     []sim.Option
}

// newHarness starts a simulator with short latencies on a scaled clock
// shared by the simulator, the client and the executor.
func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	if s.scale == 0 {
		s.scale = 100
	}
	if s.credits == 0 {
		s.credits = sim.DefaultCredits
	}
	if s.rpm == 0 {
		s.rpm = 30
	}
	cl := clock.Scaled(epoch, s.scale)
	opts := append([]sim.Option{
		sim.WithClock(cl), sim.WithKey(testKey, s.credits), sim.WithRateLimit(s.rpm),
		sim.WithLatency("video", 20*time.Second, 40*time.Second),
		sim.WithLatency("image", 5*time.Second, 10*time.Second),
	}, s.sim...)
	run, err := sim.Start("", opts...)
	if err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	c, err := xpilot.New(xpilot.Config{BaseURL: run.URL, APIKey: run.Key, RequestsPerMinute: s.rpm, Clock: cl, Seed: 1})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	dir := t.TempDir()
	return &harness{dir: dir, clock: cl, sim: run, client: c, state: filepath.Join(dir, "xpflow.state.json")}
}

// write replaces the spec with one file holding src.
func (h *harness) write(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, "main.xp.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run configures one apply.
type run struct {
	replace  []string
	targets  []string
	stop     <-chan struct{}
	observer executor.Observer
	// before is called after planning, right before executor.Run.
	before func(p *planner.Plan)
}

// plan loads the spec and plans it against the state and the catalog, as
// `xpflow plan` does.
func (h *harness) plan(t *testing.T, r run) *planner.Plan {
	t.Helper()
	st, err := state.Load(h.state)
	if err != nil {
		t.Fatalf("load state: %v", err)
	}
	return h.planWith(t, st, r)
}

func (h *harness) planWith(t *testing.T, st *state.State, r run) *planner.Plan {
	t.Helper()
	sp, diags := spec.Load(h.dir, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load spec: %s", diags.Error())
	}
	ctx := context.Background()
	cat, err := h.client.Models(ctx)
	if err != nil {
		t.Fatalf("models: %v", err)
	}
	p, diags := planner.Build(sp, planner.Options{Catalog: cat, State: st, Replace: r.replace, Targets: r.targets})
	if diags.HasErrors() {
		t.Fatalf("plan: %s", diags.Error())
	}
	return p
}

// apply plans and applies as `xpflow apply -auto-approve` does; it fails the
// test when Run returns an error.
func (h *harness) apply(t *testing.T, r run) (*executor.Summary, *planner.Plan) {
	t.Helper()
	sum, p, err := h.tryApply(t, r)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, p
}

func (h *harness) tryApply(t *testing.T, r run) (*executor.Summary, *planner.Plan, error) {
	t.Helper()
	store, err := state.Open(h.state)
	if err != nil {
		t.Fatalf("open state: %v", err)
	}
	defer store.Close()
	p := h.planWith(t, store.Snapshot(), r)
	if r.before != nil {
		r.before(p)
	}
	sum, err := executor.Run(context.Background(), p, executor.Options{Client: h.client, Store: store,
		Clock: h.clock, Observer: r.observer, Stop: r.stop})
	return sum, p, err
}

// snapshot loads the state file.
func (h *harness) snapshot(t *testing.T) *state.State {
	t.Helper()
	st, err := state.Load(h.state)
	if err != nil {
		t.Fatalf("load state: %v", err)
	}
	return st
}

// editState changes the state file in place, as a crashed run or a user
// with an editor would have left it.
func (h *harness) editState(t *testing.T, fn func(st *state.State)) {
	t.Helper()
	store, err := state.Open(h.state)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Update(func(st *state.State) error {
		fn(st)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mark returns the current length of the simulator log, to slice what
// happens after it.
func (h *harness) mark() int { return len(h.sim.Server.Log()) }

// since returns the log entries after mark.
func (h *harness) since(mark int) []sim.Request { return h.sim.Server.Log()[mark:] }

// isGenerate reports whether r is a generate request.
func isGenerate(r sim.Request) bool { return strings.HasSuffix(r.Endpoint, ".generate") }

// isAPI reports whether r is an API request (not a CDN download).
func isAPI(r sim.Request) bool { return r.Endpoint != "cdn" }

// generates counts generate requests by the prompt of their body; only
// those answered with status (0: any) count.
func generates(t *testing.T, log []sim.Request, status int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range log {
		if !isGenerate(r) || (status != 0 && r.Status != status) {
			continue
		}
		var b struct{ Prompt string }
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("generate body %q: %v", r.Body, err)
		}
		out[b.Prompt]++
	}
	return out
}

// count returns how many entries of log satisfy keep.
func count(log []sim.Request, keep func(sim.Request) bool) int {
	n := 0
	for _, r := range log {
		if keep(r) {
			n++
		}
	}
	return n
}

// outcomes maps each asset address to its outcome.
func outcomes(s *executor.Summary) map[string]executor.Outcome {
	out := map[string]executor.Outcome{}
	for _, a := range s.Assets {
		out[a.Addr] = a.Outcome
	}
	return out
}

// actions maps each node address to its planned action.
func actions(p *planner.Plan) map[string]planner.Action {
	out := map[string]planner.Action{}
	for _, n := range p.Nodes {
		out[n.Addr] = n.Action
	}
	return out
}

// all returns a map of every address in addrs to v.
func all[V any](v V, addrs ...string) map[string]V {
	out := map[string]V{}
	for _, a := range addrs {
		out[a] = v
	}
	return out
}

// merge returns the union of maps; later ones win.
func merge[V any](ms ...map[string]V) map[string]V {
	out := map[string]V{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// fileSHA256 hashes a file.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read output: %v", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// urlSHA256 fetches url from the simulator's CDN and hashes the body.
func urlSHA256(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch %s: %s", url, resp.Status)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// filesUnder lists every file under dir, relative to it, sorted.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex // guards events
	events []executor.Event
	// on, if set, is called with each event (outside mu).
	on func(executor.Event)
}

// Event records e.
func (r *recorder) Event(e executor.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	if r.on != nil {
		r.on(e)
	}
}

// pollGaps checks that no task was polled twice less than MinPollInterval
// apart on the simulator's clock, and returns the polls per task.
func pollGaps(t *testing.T, log []sim.Request) map[string]int {
	t.Helper()
	last := map[string]time.Time{}
	polls := map[string]int{}
	for _, r := range log {
		if !strings.HasSuffix(r.Endpoint, ".poll") {
			continue
		}
		if prev, ok := last[r.TaskID]; ok && r.At.Sub(prev) < executor.MinPollInterval {
			t.Errorf("task %s polled %v after the previous poll, want >= %v", r.TaskID, r.At.Sub(prev), executor.MinPollInterval)
		}
		last[r.TaskID] = r.At
		polls[r.TaskID]++
	}
	return polls
}
