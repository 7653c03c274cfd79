package faults_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/cli"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// faultProducts is the size of each server-fault campaign: 6 assets.
const faultProducts = 2

// maxRequestsPerAsset bounds the simulator requests one asset may cause
// (generates, polls, downloads) in one fault scenario: more means a spin.
const maxRequestsPerAsset = 20

// cliResult is one in-process run of cli.Main.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI calls cli.Main with buffers and an environment that points at run.
func runCLI(t *testing.T, g *secretGuard, run *sim.Running, args ...string) cliResult {
	t.Helper()
	vars := map[string]string{"XPILOT_BASE_URL": run.URL, "XPILOT_API_KEY": apiKey, "XPILOT_RATE_LIMIT": "600"}
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] }}
	code := cli.Main(env, args)
	r := cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	name := "xpflow " + strings.Join(args, " ")
	g.text(name+" stdout", func() string { return r.stdout })
	g.text(name+" stderr", func() string { return r.stderr })
	for _, bad := range []string{"panic:", "goroutine "} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("%s printed %q:\n%s", name, bad, r)
		}
	}
	return r
}

// replaceAddrs runs plan -json in-process and returns the assets whose
// action is "unknown" or "expired", sorted: what the user is told to -replace.
func replaceAddrs(t *testing.T, g *secretGuard, run *sim.Running, dir string) []string {
	t.Helper()
	r := runCLI(t, g, run, "plan", "-json", dir)
	if r.code != 0 {
		t.Fatalf("plan -json: %s", r)
	}
	var plan struct {
		Assets []planAsset `json:"assets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan -json: %v\n%s", err, r.stdout)
	}
	var out []string
	for _, a := range plan.Assets {
		// Both need the user's consent to pay again, and plan names
		// -replace for both: an unknown outcome may have been charged,
		// an expired link was charged and cannot be fetched.
		if a.Action == "unknown" || a.Action == "expired" {
			out = append(out, a.Address)
		}
	}
	sort.Strings(out)
	return out
}

// faultCase is one server-fault scenario.
type faultCase struct {
	faults sim.Faults
	// recoverAfter, when > 0, clears the faults while apply runs, once the
	// log holds that many answers with status recoverStatus.
	recoverAfter, recoverStatus int
	// hitSecond picks a simulator seed whose draw spares the first API
	// request (GET /models) and hits the second (always a generate), so a
	// rate-based fault surely lands on a POST.
	hitSecond bool
	// wantCode is the exit code of the first apply: 0 or 1.
	wantCode int
	// wantMsg must appear in the output when the first apply exits 1.
	wantMsg []string
}

// TestServerFaults runs apply in-process against a simulator injecting one
// kind of fault. Apply must complete, or exit 1 naming every asset it left
// behind and the cause; it must not panic, spin, pay twice or lose a task
// id. After a failed apply the faults are cleared and apply (with -replace
// for unknown outcomes) must complete without paying again for anything
// whose answer was recorded.
func TestServerFaults(t *testing.T) {
	t.Parallel()
	tests := map[string]faultCase{
		"500 storm on submit, recovering mid-run": {faults: sim.Faults{SubmitErrorRate: 1},
			recoverAfter: 3, recoverStatus: 500},
		"500 on the first submits":   {faults: sim.Faults{SubmitErrorN: 2}},
		"500 on every submit":        {faults: sim.Faults{SubmitErrorRate: 1}, wantCode: 1, wantMsg: []string{`text.hook["p01"]`, "GENERATION_FAILED"}},
		"429 storm with Retry-After": {faults: sim.Faults{Force429N: 4, RetryAfter: 2 * time.Second}},
		"connection resets":          {faults: sim.Faults{DropConnN: 3}},
		"connection resets on generates": {faults: sim.Faults{DropConnRate: 0.3}, hitSecond: true,
			wantCode: 1, wantMsg: []string{"no answer arrived", "-replace"}},
		"stalled responses": {faults: sim.Faults{SlowResponse: 1500 * time.Millisecond}},
		"truncated JSON":    {faults: sim.Faults{TruncateJSONN: 2}},
		"truncated JSON on generates": {faults: sim.Faults{TruncateJSONRate: 0.3}, hitSecond: true,
			wantCode: 1, wantMsg: []string{"no answer arrived", "-replace"}},
		"expired output URL": {faults: sim.Faults{OutputExpiry: time.Nanosecond}, wantCode: 1,
			wantMsg: []string{`image.hero["p01"]`, "expired"}},
		"CDN answers HTML": {faults: sim.Faults{CDNHTML: true}, wantCode: 1,
			wantMsg: []string{`image.hero["p01"]`, "text/html", "instead of media"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runFaultCase(t, tc)
		})
	}
}

func runFaultCase(t *testing.T, tc faultCase) {
	g := guardSecrets(t)
	seed := int64(7)
	if tc.hitSecond {
		seed = seedHittingSecond(t, tc.faults)
	}
	run := startSim(t, sim.WithSeed(seed), sim.WithFaults(tc.faults))
	dir := newCampaignDir(t, faultProducts)
	g.dir(dir)

	first := applyRecovering(t, g, run, dir, tc)
	t.Logf("first apply exited %d after %d requests", first.code, run.Server.Counters().Requests)
	if first.code != tc.wantCode {
		t.Fatalf("first apply: got exit %d, want %d\n%s", first.code, tc.wantCode, first)
	}
	st := loadState(t, dir)
	led := readLedger(run.Server.Log())
	checkLedger(t, st, led, nil)
	if first.code == 0 {
		checkAllDone(t, st, faultProducts)
		return
	}
	out := first.stdout + first.stderr
	for _, m := range tc.wantMsg {
		if !strings.Contains(out, m) {
			t.Errorf("first apply exited 1 without %q in its output:\n%s", m, first)
		}
	}
	for addr, a := range st.Assets {
		if a.Status != state.StatusCompleted || len(a.Outputs) == 0 || a.Outputs[0].File == "" {
			if !strings.Contains(out, addr) {
				t.Errorf("%s is left %q but the output never names it:\n%s", addr, a.Status, first)
			}
		}
	}

	// Recovery: clear the faults and apply again; only lost answers may be paid again.
	run.Server.SetFaults(sim.Faults{})
	unknown := replaceAddrs(t, g, run, dir)
	t.Logf("unknown or expired outcomes to replace: %v", unknown)
	args := []string{"apply", "-auto-approve"}
	for _, a := range unknown {
		args = append(args, "-replace", a)
	}
	second := runCLI(t, g, run, append(args, dir)...)
	if second.code != 0 {
		t.Fatalf("apply after the faults cleared: %s", second)
	}
	st = loadState(t, dir)
	checkLedger(t, st, readLedger(run.Server.Log()), unknown)
	checkAllDone(t, st, faultProducts)
}

// applyRecovering runs apply; with tc.recoverAfter it clears the faults
// from the test goroutine once the log shows enough failed answers.
func applyRecovering(t *testing.T, g *secretGuard, run *sim.Running, dir string, tc faultCase) cliResult {
	t.Helper()
	if tc.recoverAfter == 0 {
		return runCLI(t, g, run, "apply", "-auto-approve", dir)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if run.Server.Counters().Status[tc.recoverStatus] >= tc.recoverAfter {
				run.Server.SetFaults(sim.Faults{})
				return
			}
		}
	}()
	r := runCLI(t, g, run, "apply", "-auto-approve", dir)
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Errorf("apply ended before the log showed %d answers %d", tc.recoverAfter, tc.recoverStatus)
	}
	return r
}

// checkLedger checks the log against the state: no asset spins, none is
// paid twice except those in replaced (whose earlier answer was lost), and
// every task the server charged for is the one the state records, unless
// the state says the answer never arrived.
func checkLedger(t *testing.T, st *state.State, led ledger, replaced []string) {
	t.Helper()
	for addr, n := range led.requests {
		if n >= maxRequestsPerAsset {
			t.Errorf("%s caused %d requests, want < %d: a retry loop spins", addr, n, maxRequestsPerAsset)
		}
	}
	allowed := map[string]int{}
	for _, a := range replaced {
		allowed[a] = 1
	}
	for addr, reqs := range led.charged {
		if len(reqs) > 1+allowed[addr] {
			t.Errorf("%s was charged %d times, want at most %d", addr, len(reqs), 1+allowed[addr])
		}
		last := reqs[len(reqs)-1]
		a := st.Assets[addr]
		switch {
		case a == nil:
			t.Errorf("%s: the server charged task %q but the state has no record", addr, last.TaskID)
		case a.Status == state.StatusIntent:
			// The answer never arrived (dropped or truncated): the state says
			// so, and plan calls it unknown.
		case last.TaskID != "" && a.TaskID != last.TaskID:
			t.Errorf("%s: the server charged task %q, the state records %q: a task id was lost", addr, last.TaskID, a.TaskID)
		}
	}
}

// checkAllDone checks that every asset of a campaign of products completed with its
// files downloaded.
func checkAllDone(t *testing.T, st *state.State, products int) {
	t.Helper()
	if diff := cmp.Diff(wantAddrs(products), addrs(st)); diff != "" {
		t.Errorf("addresses in state (-want +got):\n%s", diff)
	}
	for addr, a := range st.Assets {
		if a.Status != state.StatusCompleted {
			t.Errorf("%s: status %q, want completed (error %q)", addr, a.Status, a.Error)
			continue
		}
		for _, o := range a.Outputs {
			if o.File == "" || o.SHA256 == "" {
				t.Errorf("%s: output %s not downloaded", addr, o.URL)
			}
		}
	}
}

// seedHittingSecond returns a simulator seed for which f spares the first
// API request and faults the second. Draws depend only on the seed and the
// request's index, so two GET /models against a scratch simulator tell.
func seedHittingSecond(t *testing.T, f sim.Faults) int64 {
	t.Helper()
	for seed := int64(1); seed < 500; seed++ {
		run, err := sim.Start("", sim.WithKey(apiKey, 100), sim.WithRateLimit(0), sim.WithSeed(seed), sim.WithFaults(f))
		if err != nil {
			t.Fatal(err)
		}
		first, second := modelsFaulted(t, run), modelsFaulted(t, run)
		_ = run.Close()
		if !first && second {
			return seed
		}
	}
	t.Fatalf("no seed below 500 spares request 0 and hits request 1 with %+v", f)
	return 0
}

// modelsFaulted sends GET /api/v1/models and reports whether the answer
// was dropped or cut.
func modelsFaulted(t *testing.T, run *sim.Running) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, run.URL+"/api/v1/models", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return true
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return err != nil || !json.Valid(b)
}
