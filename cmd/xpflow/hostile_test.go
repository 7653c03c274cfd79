package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// TestHostileSpecFilesNeverCrashAnyCommand: 100,000 nested "[" overflowed
// the parser's stack (a fatal error no recover catches) and a FIFO named
// like a spec file blocked its read forever. Every command that reads the
// spec, fmt included, must refuse both with a diagnostic naming the file,
// run from inside the directory the way a user types it.
func TestHostileSpecFilesNeverCrashAnyCommand(t *testing.T) {
	deep := "locals {\n  x = " + strings.Repeat("[", 100000) + "1" + strings.Repeat("]", 100000) + "\n}\n"
	cases := map[string]struct {
		make func(t *testing.T, path string)
		want string
	}{
		"100,000 nested brackets": {
			make: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte(deep), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: "on deep.xp.hcl line 2:",
		},
		"a FIFO named like a spec file": {
			make: func(t *testing.T, path string) {
				if err := syscall.Mkfifo(path, 0o644); err != nil {
					t.Skipf("mkfifo: %v", err) // no FIFOs on this system: nothing to hang on
				}
			},
			want: "deep.xp.hcl is not a regular file",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root, env := workspace(t, quickCampaign)
			dir := filepath.Join(root, "campaign")
			tc.make(t, filepath.Join(dir, "deep.xp.hcl"))
			u := userRun{dir: dir, env: env}
			for _, args := range [][]string{
				{"fmt"},
				{"fmt", "-check"},
				{"fmt", "deep.xp.hcl"},
				{"validate"},
				{"plan", "-simulate"},
			} {
				r := u.run(t, args...)
				if r.code != 1 {
					t.Errorf("xpflow %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("xpflow %s: stderr does not name the place (%q):\n%s", strings.Join(args, " "), tc.want, r.stderr)
				}
			}
		})
	}
}

// simCampaign is quickCampaign in a workspace served by a simulator of
// its own, with opts, which the test can then ask what it received.
func simCampaign(t *testing.T, opts ...sim.Option) (userRun, *sim.Running) {
	t.Helper()
	run, err := sim.Start("", append([]sim.Option{sim.WithKey(testKey, 100000), sim.WithRateLimit(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	root, _ := workspace(t, quickCampaign)
	env := []string{"XPILOT_BASE_URL=" + run.URL, "XPILOT_API_KEY=" + testKey, "XPILOT_RATE_LIMIT=600"}
	return userRun{dir: filepath.Join(root, "campaign"), env: env}, run
}

// TestExpiredLinkIsSaidOnceAndNotRetried: after a CDN link expired before
// its download, every later apply tried it again and exited 1 the same
// way, and plan kept promising "download ... at no cost". The apply that
// finds the expiry says the one true thing; later plans show the asset as
// expired with what -replace does, and later applies leave it alone.
func TestExpiredLinkIsSaidOnceAndNotRetried(t *testing.T) {
	u, run := simCampaign(t, sim.WithFaults(sim.Faults{OutputExpiry: time.Nanosecond}))

	first := u.run(t, "apply", "-auto-approve")
	if first.code != 1 || !strings.Contains(first.stdout+first.stderr, "paid and recorded") {
		t.Fatalf("apply that meets the expired link: exit %d, want 1 and 'paid and recorded'\nstdout:\n%s\nstderr:\n%s",
			first.code, first.stdout, first.stderr)
	}
	plan := u.run(t, "plan").must(t, 0, "plan")
	for _, want := range []string{"No changes", "expired (1):", `image.hero["aurora"]`, `-replace image.hero["aurora"]`, "generates it again (about $"} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("plan after the expiry does not say %q:\n%s", want, plan.stdout)
		}
	}
	if strings.Contains(plan.stdout, "download") && !strings.Contains(plan.stdout, "before download") && !strings.Contains(plan.stdout, "downloaded") {
		t.Errorf("plan after the expiry still offers a download:\n%s", plan.stdout)
	}
	cdn := run.Server.Counters().CDN
	u.run(t, "apply", "-auto-approve").must(t, 0, "apply", "-auto-approve")
	if got := run.Server.Counters().CDN - cdn; got != 0 {
		t.Errorf("the apply after the expiry asked the CDN %d times, want 0", got)
	}
	if got := run.Server.Counters().Generates; got != 2 {
		t.Errorf("%d generate requests in all, want 2 (text and image, once each)", got)
	}
}

// TestPlanNamesWhatAKillMayHaveCharged: after a kill with a generate
// request on the wire, the state holds its intent and no answer. plan,
// typed from inside the directory, names that request (model, when it was
// sent, what it cost if charged) and totals the possible charge in its
// summary line, and apply does not send it again on its own.
func TestPlanNamesWhatAKillMayHaveCharged(t *testing.T) {
	u, run := simCampaign(t)
	u.run(t, "apply", "-auto-approve").must(t, 0, "apply", "-auto-approve")

	// Leave image.hero["aurora"] as a kill between the intent and the
	// answer leaves it: status intent, a new intent time, no task.
	path := filepath.Join(u.dir, "xpflow.state.json")
	st, err := state.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	addr := `image.hero["aurora"]`
	a := st.Assets[addr]
	if a == nil || a.CostCents == nil {
		t.Fatalf("%s after apply: %+v, want a completed record with its cost", addr, a)
	}
	cost := *a.CostCents
	sentAt := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	a.Status, a.TaskID, a.PollURL, a.Outputs, a.CostCents, a.IntentAt = state.StatusIntent, "", "", nil, nil, sentAt
	a.SubmittedAt, a.CompletedAt = time.Time{}, time.Time{}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	plan := u.run(t, "plan")
	if plan.code != 0 && plan.code != 2 {
		t.Fatalf("plan: exit %d\nstdout:\n%s\nstderr:\n%s", plan.code, plan.stdout, plan.stderr)
	}
	dollars := fmt.Sprintf("$%d.%02d", cost/100, cost%100)
	for _, want := range []string{
		"unknown (1):", addr, "bytedance/seedream-4.5", "2026-12-01T09:30:00Z",
		"if charged, it cost about " + dollars, "-replace " + addr,
		"1 with an unknown outcome (may have been charged: up to " + dollars + ")",
	} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("plan does not say %q:\n%s", want, plan.stdout)
		}
	}
	paid := run.Server.Counters().Generates
	u.run(t, "apply", "-auto-approve")
	if got := run.Server.Counters().Generates; got != paid {
		t.Errorf("apply after the kill sent %d generate requests, want none: an unknown is never resent on its own", got-paid)
	}
}
