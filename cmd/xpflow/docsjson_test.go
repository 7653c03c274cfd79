package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/window"
)

// The JSON the docs show is checked against the JSON the binary writes:
// every key path of every ```json block of docs/cli.md, docs/state.md and
// docs/window.md must occur in what the command it documents really
// prints or writes, so no documented field is stale or invented.

// docsJSONFiles are the pages whose JSON blocks are checked.
var docsJSONFiles = []string{"cli.md", "state.md", "window.md"}

// docsJSONNotProduced are JSON blocks the test cannot produce, keyed by
// their first line, each with why; a listed block that no longer exists
// fails the test.
var docsJSONNotProduced = map[string]string{}

// docsJSONMapKeys are the objects whose keys are data, not field names
// (addresses, model names, price and latency keys, outcomes): their keys
// read as "*" in a path.
var docsJSONMapKeys = map[string]bool{
	"assets": true, "models": true, "models.*.prices": true, "models.*.latency": true, "counts": true,
}

// docsJSONElided stands for the "[...]" of a block: an array whose
// elements the docs leave out.
const docsJSONElided = "[...]"

// docsJSONPaths is a set of key paths, and the paths whose elements the
// docs elide.
type docsJSONPaths struct {
	paths, elided map[string]bool
}

func newDocsJSONPaths() *docsJSONPaths {
	return &docsJSONPaths{paths: map[string]bool{}, elided: map[string]bool{}}
}

// add adds the paths of every JSON value in data: one value, or one per
// line. An object with a string "type" (an event) prefixes its paths with
// "TYPE:".
func (p *docsJSONPaths) add(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		prefix := ""
		if o, ok := v.(map[string]any); ok {
			if typ, ok := o["type"].(string); ok {
				prefix = typ + ":"
			}
		}
		p.walk(prefix, "", v)
	}
}

func (p *docsJSONPaths) walk(prefix, path string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if docsJSONMapKeys[path] {
				k = "*"
			}
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			p.paths[prefix+sub] = true
			p.walk(prefix, sub, x)
		}
	case []any:
		for _, x := range v {
			p.paths[prefix+path+"[]"] = true
			p.walk(prefix, path+"[]", x)
		}
	case string:
		if v == docsJSONElided {
			p.elided[prefix+path] = true
		}
	}
}

// union adds q's paths to p.
func (p *docsJSONPaths) union(q *docsJSONPaths) {
	for k := range q.paths {
		p.paths[k] = true
	}
}

// docsJSONReal is what the binary really printed and wrote, by what the
// docs' blocks document.
type docsJSONReal struct {
	plan, events, state, ledger *docsJSONPaths
}

// TestDocsJSONMatchesTheBinary checks every key path of the JSON blocks of
// docs/cli.md, docs/state.md and docs/window.md against the output of the
// commands they document, run as a user runs them in a copy of examples/.
func TestDocsJSONMatchesTheBinary(t *testing.T) {
	t.Parallel()
	// The three runs go at once; the parent waits for its parallel subtests.
	var runs [3]docsJSONReal
	t.Run("produce", func(t *testing.T) {
		t.Run("simulate", func(t *testing.T) { t.Parallel(); runs[0] = docsJSONSimulate(t) })
		t.Run("server", func(t *testing.T) { t.Parallel(); runs[1] = docsJSONServer(t) })
		t.Run("429", func(t *testing.T) { t.Parallel(); runs[2] = docsJSONRefused(t) })
	})
	if t.Failed() {
		return
	}
	actual := docsJSONReal{plan: newDocsJSONPaths(), events: newDocsJSONPaths(),
		state: newDocsJSONPaths(), ledger: newDocsJSONPaths()}
	for _, r := range runs {
		for _, pair := range [][2]*docsJSONPaths{{actual.plan, r.plan}, {actual.events, r.events}, {actual.state, r.state}, {actual.ledger, r.ledger}} {
			if pair[1] != nil {
				pair[0].union(pair[1])
			}
		}
	}
	seen := map[string]bool{}
	checked := 0
	for _, file := range docsJSONFiles {
		for _, f := range fences(t, filepath.Join(docsDir, file)) {
			if f.lang != "json" {
				continue
			}
			first, _, _ := strings.Cut(f.body, "\n")
			if why, ok := docsJSONNotProduced[first]; ok {
				seen[first] = true
				t.Logf("%s:%d not checked: %s", f.file, f.line, why)
				continue
			}
			doc := newDocsJSONPaths()
			if err := doc.add([]byte(strings.ReplaceAll(f.body, docsJSONElided, `"`+docsJSONElided+`"`))); err != nil {
				t.Errorf("%s:%d: the JSON block does not parse: %v", f.file, f.line, err)
				continue
			}
			got, what := docsJSONSource(actual, f)
			if got == nil {
				t.Errorf("%s:%d: no command is known to print this block; produce it or list it in docsJSONNotProduced", f.file, f.line)
				continue
			}
			checked++
			docsJSONCompare(t, f, what, doc, got)
		}
	}
	for first := range docsJSONNotProduced {
		if !seen[first] {
			t.Errorf("docsJSONNotProduced lists %q, which no JSON block of docs/ begins with", first)
		}
	}
	if checked < 5 {
		t.Errorf("checked only %d JSON blocks of docs/", checked)
	}
}

// docsJSONSource returns the real paths of what block f documents, and
// what that is.
func docsJSONSource(actual docsJSONReal, f fence) (*docsJSONPaths, string) {
	switch {
	case strings.Contains(f.body, `"type":`):
		return actual.events, "apply -json"
	case f.file == "cli.md" && strings.Contains(f.body, `"format_version"`):
		return actual.plan, "plan -json"
	case f.file == "state.md":
		return actual.state, "the state file"
	case f.file == "window.md":
		return actual.ledger, "the window ledger"
	}
	return nil, ""
}

// docsJSONCompare fails for every path of doc missing from got, and logs
// the paths of got that doc does not show, among the event types and
// outside the elided arrays of the block.
func docsJSONCompare(t *testing.T, f fence, what string, doc, got *docsJSONPaths) {
	t.Helper()
	var missing, unshown []string
	for p := range doc.paths {
		if !got.paths[p] {
			missing = append(missing, p)
		}
	}
	shown := func(p string) bool {
		if typ, _, ok := strings.Cut(p, ":"); ok && !docsJSONHasPrefix(doc.paths, typ+":") {
			return true // an event type the block does not show
		}
		for e := range doc.elided {
			if strings.HasPrefix(p, e+"[]") {
				return true
			}
		}
		return doc.paths[p]
	}
	for p := range got.paths {
		if !shown(p) {
			unshown = append(unshown, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(unshown)
	if len(missing) > 0 {
		t.Errorf("%s:%d: the block shows fields that %s does not have:\n  %s", f.file, f.line, what, strings.Join(missing, "\n  "))
	}
	if len(unshown) > 0 {
		t.Logf("%s:%d: %s also has fields the block does not show:\n  %s", f.file, f.line, what, strings.Join(unshown, "\n  "))
	}
}

func docsJSONHasPrefix(set map[string]bool, prefix string) bool {
	for p := range set {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// docsJSONRun runs xpflow in u and returns the paths of its stdout.
func docsJSONRun(t *testing.T, u userRun, args ...string) *docsJSONPaths {
	t.Helper()
	r := u.run(t, args...).must(t, 0, args...)
	p := newDocsJSONPaths()
	if err := p.add([]byte(r.stdout)); err != nil {
		t.Fatalf("xpflow %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
	return p
}

// docsJSONFile returns the paths of the JSON in file.
func docsJSONFile(t *testing.T, file string) *docsJSONPaths {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := newDocsJSONPaths()
	if err := p.add(b); err != nil {
		t.Fatalf("%s is not JSON: %v", file, err)
	}
	return p
}

// docsJSONSimulate is the docs' own run: plan and apply -simulate of
// examples/launch, then a plan after its videos' duration changed, so the
// plan has creates, a replace with its changes, and spent cost.
func docsJSONSimulate(t *testing.T) docsJSONReal {
	ws := copyExamples(t)
	u := userRun{dir: ws}
	plan := docsJSONRun(t, u, "plan", "-simulate", "-json", "examples/launch")
	events := docsJSONRun(t, u, "apply", "-simulate", "-auto-approve", "-json", "examples/launch")
	state := docsJSONFile(t, filepath.Join(ws, "examples", "launch", "xpflow.simulate.state.json"))
	spec := filepath.Join(ws, "examples", "launch", "launch.xp.hcl")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "duration       = 8", "duration       = 4", 1)
	if changed == string(b) {
		t.Fatal("examples/launch no longer sets duration = 8; change another attribute to get a replace")
	}
	if err := os.WriteFile(spec, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	plan.union(docsJSONRun(t, u, "plan", "-simulate", "-json", "examples/launch"))
	if !plan.paths["assets[].changes[].attribute"] {
		t.Fatal("plan -json after the duration changed shows no change")
	}
	return docsJSONReal{plan: plan, events: events, state: state}
}

// docsJSONServer applies examples/launch against a simulator over HTTP, as
// with a real key, while another xpflow run's requests fill the key's
// window for 1.5 s: apply -json writes window events, and the state file
// and the window ledger are written.
func docsJSONServer(t *testing.T) docsJSONReal {
	run, err := sim.Start("", sim.WithKey(testKey, 100000), sim.WithRateLimit(0),
		sim.WithLatency("video", 300*time.Millisecond, 500*time.Millisecond),
		sim.WithLatency("image", 100*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	ws := copyExamples(t)
	cache := filepath.Join(ws, "cache")
	// The plan's catalog request takes the last slot; the walk waits.
	docsJSONFillWindow(t, cache, run.URL, 29, time.Now().Add(1500*time.Millisecond))
	u := userRun{dir: ws, env: []string{"XPILOT_BASE_URL=" + run.URL, "XPILOT_API_KEY=" + testKey,
		"XPILOT_RATE_LIMIT=30", window.EnvCacheDir + "=" + cache}}
	events := docsJSONRun(t, u, "apply", "-auto-approve", "-json", "examples/launch")
	if !events.paths["window:waiting"] {
		t.Fatal("apply -json wrote no window event")
	}
	return docsJSONReal{events: events,
		state:  docsJSONFile(t, filepath.Join(ws, "examples", "launch", "xpflow.state.json")),
		ledger: docsJSONFile(t, filepath.Join(cache, window.Name(run.URL, testKey)))}
}

// docsJSONFillWindow records n requests of another xpflow run that leave
// the window at frees, in the ledger of the key at baseURL in dir.
func docsJSONFillWindow(t *testing.T, dir, baseURL string, n int, frees time.Time) {
	t.Helper()
	s, err := window.OpenFile(dir, window.Name(baseURL, testKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := frees.Add(-window.Window - window.Grace)
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

// docsJSONRefused runs models against a simulator whose window for the key
// another client filled: the catalog request meets a 429, whose
// Retry-After the ledger records.
func docsJSONRefused(t *testing.T) docsJSONReal {
	run, err := sim.Start("", sim.WithKey(testKey, 100000), sim.WithRateLimit(30),
		sim.WithUnseenRequests(testKey, 30, window.Window-time.Second))
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	ws := t.TempDir()
	cache := filepath.Join(ws, "cache")
	u := userRun{dir: ws, env: []string{"XPILOT_BASE_URL=" + run.URL, "XPILOT_API_KEY=" + testKey, window.EnvCacheDir + "=" + cache}}
	u.run(t, "models").must(t, 0, "models")
	ledger := docsJSONFile(t, filepath.Join(cache, window.Name(run.URL, testKey)))
	if !ledger.paths["closed_until"] {
		t.Fatal("the ledger recorded no closed_until after a 429")
	}
	return docsJSONReal{ledger: ledger}
}

// TestDocsJSONPhaseTable: the phase table of docs/cli.md's apply -json
// lists exactly the executor's phases.
func TestDocsJSONPhaseTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(docsDir, "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n| phase | emitted when | `message` |\n")
	if !ok {
		t.Fatal("docs/cli.md has no phase table (| phase | emitted when | `message` |)")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	documented := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		if cell, _, ok := strings.Cut(strings.TrimPrefix(row, "| `"), "` |"); ok && strings.HasPrefix(row, "| `") {
			documented[cell] = true
		}
	}
	var missing, extra []string
	for _, p := range executor.Phases() {
		if !documented[string(p)] {
			missing = append(missing, string(p))
		}
		delete(documented, string(p))
	}
	for p := range documented {
		extra = append(extra, p)
	}
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("docs/cli.md's phase table lacks the executor's phases %q", missing)
	}
	if len(extra) > 0 {
		t.Errorf("docs/cli.md's phase table lists %q, which are not executor phases", extra)
	}
}
