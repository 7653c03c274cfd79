// Command xpbench runs the xpflow benchmarks: the scheduler suite against
// simulators on a compressed clock, and the plan-at-scale measurements.
// It prints one table per mode; -v adds a diagnostic line per run on
// standard error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xpflow/xpflow/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xpbench:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", "sched", "what to run: sched (scheduler suite), plan (plan at scale) or window (two clients of one key, in this process)")
	scale := flag.Float64("k", 150, "virtual time runs k times faster than the wall clock (scripts/bench.sh sched uses 50: at 150 the time xpflow spends on its own state writes and downloads on a loaded machine shows as seconds of virtual time)")
	repeat := flag.Int("repeat", 1, "run the suite this many times and report medians")
	seed := flag.Int64("seed", 1, "simulator seed of the first runs (learned runs use seed+1000)")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	sizes := flag.String("sizes", "1000,10000,100000", "plan mode: asset instance counts")
	peerPrio := flag.Bool("peer-priorities", false, "give the peer the client's default priorities (polls first) instead of one FIFO queue")
	verbose := flag.Bool("v", false, "print a diagnostic line per run on stderr")
	procs := flag.Bool("procs", false, "window mode: run real xpflow processes (built from ./cmd/xpflow) at real speed instead of clients in this process; -k does not apply")
	traceRuns := flag.Bool("trace", false, "with -v, also print every async task of each xpflow run: submit, true latency, each poll since submit (- answered processing)")
	flag.Parse()
	switch *mode {
	case "sched":
		return sched(bench.Config{Scale: *scale, Seed: *seed, Only: *only, PeerPriorities: *peerPrio, Trace: *traceRuns}, *repeat, *verbose)
	case "plan":
		var ns []int
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 2 {
				return fmt.Errorf("-sizes: %q is not a count of at least 2", s)
			}
			ns = append(ns, n)
		}
		return planScale(ns)
	case "window":
		if *procs {
			return windowProcsBench(bench.Config{Seed: *seed}, *repeat, *verbose)
		}
		return windowBench(bench.Config{Scale: *scale, Seed: *seed}, *repeat, *verbose)
	}
	return fmt.Errorf("-mode %q: want sched, plan or window", *mode)
}

func sched(cfg bench.Config, repeat int, verbose bool) error {
	cleanup, err := prepare(&cfg, "xpbench-", verbose)
	if err != nil {
		return err
	}
	defer cleanup()
	var all [][]bench.Row
	for i := 0; i < max(1, repeat); i++ {
		rows, err := bench.RunSuite(context.Background(), cfg)
		if err != nil {
			return err
		}
		all = append(all, rows)
	}
	fmt.Printf("scheduler benchmark: 30 requests/min; video 30-120 s and async image 5-20 s unless the scenario names its range; k=%g, peer priorities %t, medians of %d run(s)\n", cfg.Scale, cfg.PeerPriorities, len(all))
	return bench.WriteTable(os.Stdout, bench.Median(all))
}

// prepare gives cfg a fresh working directory named after prefix, and a
// progress log on stderr when verbose; cleanup removes the directory.
func prepare(cfg *bench.Config, prefix string, verbose bool) (cleanup func(), err error) {
	dir, err := os.MkdirTemp(tmpBase(), prefix)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if verbose {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	return func() { os.RemoveAll(dir) }, nil
}

// windowBench runs the "two clients, one key" benchmark (in-process).
func windowBench(cfg bench.Config, repeat int, verbose bool) error {
	cleanup, err := prepare(&cfg, "xpbench-window-", verbose)
	if err != nil {
		return err
	}
	defer cleanup()
	var all [][]bench.WindowRow
	for i := 0; i < max(1, repeat); i++ {
		rows, err := bench.RunWindow(context.Background(), cfg)
		if err != nil {
			return err
		}
		all = append(all, rows)
	}
	fmt.Printf("two processes, one key: 16 async images each (flux/pro-async, 5-20 s), 30 requests/min; k=%g, median makespan of %d run(s), worst 429 count\n", cfg.Scale, len(all))
	return bench.WriteWindowTable(os.Stdout, bench.MedianWindow(all))
}

// windowProcsBench runs the "two processes, one key" benchmark with real
// xpflow processes.
func windowProcsBench(cfg bench.Config, repeat int, verbose bool) error {
	cleanup, err := prepare(&cfg, "xpbench-window-procs-", verbose)
	if err != nil {
		return err
	}
	defer cleanup()
	bin := filepath.Join(cfg.Dir, "xpflow")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/xpflow").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	var all [][]bench.WindowRow
	for i := 0; i < max(1, repeat); i++ {
		rows, err := bench.RunWindowProcs(context.Background(), cfg, bin)
		if err != nil {
			return err
		}
		all = append(all, rows)
	}
	fmt.Printf("two xpflow processes, one key: 16 async images each (flux/pro-async, 5-20 s), 30 requests/min; real processes at real speed, median makespan of %d run(s), worst 429 count\n", len(all))
	return bench.WriteWindowTable(os.Stdout, bench.MedianWindow(all))
}

func planScale(sizes []int) error {
	dir, err := os.MkdirTemp(tmpBase(), "xpbench-plan-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rows, err := bench.PlanScale(context.Background(), dir, sizes)
	if err != nil {
		return err
	}
	return bench.WritePlanTable(os.Stdout, rows)
}

// tmpBase prefers a RAM file system: the executor syncs its state file
// after every change, and on a compressed clock a slow disk would count
// k times over.
func tmpBase() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}
