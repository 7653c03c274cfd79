package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

// Setups of RunWindowProcs, in table order.
const (
	SetupProcOne      = "one xpflow process, both campaigns"
	SetupProcShared   = "two xpflow processes, one cache dir (shared ledger)"
	SetupProcUnshared = "two xpflow processes, own cache dirs (no sharing)"
)

// RunWindowProcs is RunWindow with real xpflow processes: the binary at
// xpflow runs `apply -auto-approve` on each campaign, as a user types it,
// against a simulator in this process, at real speed (a process has its
// own clock; nothing is compressed, so one repeat takes minutes). Two
// processes share the ledger when they share XPFLOW_CACHE_DIR; with one
// cache directory each they do not, as before issue 10. Makespan is from
// the start of the first process until the last exits; requests count
// every API request the simulator saw, /models and 429s included.
func RunWindowProcs(ctx context.Context, cfg Config, xpflow string) ([]WindowRow, error) {
	cfg = cfg.withDefaults()
	camps := WindowCampaigns()
	both := Scenario{Name: "both", Blocks: append(append([]Block(nil), camps[0].Blocks...), camps[1].Blocks...)}
	var rows []WindowRow
	for _, setup := range []string{SetupProcOne, SetupProcShared, SetupProcUnshared} {
		dir, err := os.MkdirTemp(cfg.Dir, "window-procs-")
		if err != nil {
			return nil, err
		}
		var row WindowRow
		switch setup {
		case SetupProcOne:
			row, err = windowProcs(ctx, cfg, xpflow, dir, false, both)
		case SetupProcShared:
			row, err = windowProcs(ctx, cfg, xpflow, dir, true, camps[0], camps[1])
		default:
			row, err = windowProcs(ctx, cfg, xpflow, dir, false, camps[0], camps[1])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setup, err)
		}
		row.Setup = setup
		cfg.Logf("%-52s makespan %s, %d requests, %d answers of 429", setup, row.Makespan.Round(100*time.Millisecond), row.Requests, row.Limited)
		rows = append(rows, row)
	}
	return rows, nil
}

// windowProcs runs one xpflow process per scenario, all at once, on one
// simulator; with shared, they have one cache directory (one ledger).
func windowProcs(ctx context.Context, cfg Config, xpflow, dir string, shared bool, scs ...Scenario) (WindowRow, error) {
	env := startSim(clock.Real(), cfg.Seed, cfg.PerMinute, scs[0])
	defer env.close()
	cmds := make([]*exec.Cmd, len(scs))
	outs := make([][]byte, len(scs))
	for i, sc := range scs {
		campDir := filepath.Join(dir, sc.Name)
		if err := os.MkdirAll(campDir, 0o755); err != nil {
			return WindowRow{}, err
		}
		if err := os.WriteFile(filepath.Join(campDir, "campaign.xp.hcl"), []byte(sc.HCL()), 0o644); err != nil {
			return WindowRow{}, err
		}
		cache := filepath.Join(dir, "cache")
		if !shared {
			cache = filepath.Join(dir, "cache-"+sc.Name)
		}
		cmd := exec.CommandContext(ctx, xpflow, "apply", "-auto-approve", campDir)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XPFLOW_CACHE_DIR=" + cache,
			"XPILOT_BASE_URL=" + env.http.URL, "XPILOT_API_KEY=" + simKey,
			fmt.Sprintf("XPILOT_RATE_LIMIT=%d", cfg.PerMinute)}
		cmds[i] = cmd
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(cmds))
	for i, cmd := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	row := WindowRow{Makespan: time.Since(start)}
	for i, err := range errs {
		if err != nil {
			return row, fmt.Errorf("xpflow apply %s: %w\n%s", scs[i].Name, err, outs[i])
		}
	}
	n := env.rec.snapshot()
	row.Requests, row.Limited = n.api, n.limited
	return row, nil
}
