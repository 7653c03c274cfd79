package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

func runApply(env *Env, args []string) error {
	fs := newFlags(env, "apply", "[DIR | PLANFILE]")
	var f planFlags
	f.register(fs)
	auto := fs.Bool("auto-approve", false, "apply without asking for confirmation")
	parallelism := fs.Int("parallelism", 16, "maximum concurrent submits and downloads")
	asJSON := fs.Bool("json", false, "print a stream of JSON events, one per line (needs -auto-approve; see docs/cli.md)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *parallelism < 1 {
		return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("-parallelism %d: want at least 1 (the number of requests and downloads apply may have in flight)", *parallelism)}
	}
	if *asJSON && !*auto {
		return &ExitErr{Code: ExitUsage, Err: errors.New("-json needs -auto-approve: review the plan with 'xpflow plan' first")}
	}
	in := watchInterrupts(env)
	arg, err := oneArg(fs)
	if err != nil {
		return err
	}
	var saved *planFile
	if isPlanFile(arg) {
		if saved, err = readPlanFile(arg); err != nil {
			return err
		}
		saved.restoreFlags(&f)
		arg = saved.Dir
		*auto = true // the user reviewed the plan when saving it
	}
	sp, err := loadSpec(env, arg, &f.specFlags)
	if err != nil {
		return err
	}
	if f.simulate {
		// Simulator placeholders never land where paid outputs are.
		sp.Settings.OutputDir = filepath.Join(sp.Settings.OutputDir, SimulateSubdir)
	}
	store, claims, closeStore, err := openStateStore(env, sp, f.statePath, f.simulate)
	if err != nil {
		return err
	}
	defer closeStore()
	c, err := connect(env, sp, f.simulate, store.Snapshot().Lineage)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pl, err := makePlan(ctx, env, sp, c, store.Snapshot(), &f)
	if err != nil {
		return err
	}
	if saved != nil {
		if err := saved.check(pl); err != nil {
			return &ExitErr{Code: ExitError, Err: err}
		}
	}
	var jv *jsonView
	if *asJSON {
		jv = newJSONView(env.Stdout)
		jv.Plan(pl.plan)
	} else {
		renderPlan(redactSensitive(env.Stdout, sp), pl.plan, useColor(env))
	}
	if !pl.plan.HasChanges() {
		if jv != nil {
			jv.Summary(&executor.Summary{EstimatedCents: pl.plan.EstimatedCents, Requests: c.client.Requests()})
		}
		return nil
	}
	warnBalance(env, pl)
	if !*auto {
		if err := confirm(env); err != nil {
			return err
		}
	}
	return closeState(env, execute(ctx, env, in, pl, c, store, claims, *parallelism, jv), store)
}

// SimulateSubdir is the subdirectory of output_dir where apply -simulate
// writes: its placeholders must never replace a paid output. It cannot be
// a block's directory, whose names hold a dot (image.hero).
const SimulateSubdir = "simulate"

// warnBalance warns when the estimate exceeds the last known balance.
func warnBalance(env *Env, pl *planned) {
	b := pl.state.Balance
	if b == nil || pl.plan.EstimatedCents <= b.Cents {
		return
	}
	pal := newPalette(useColor(env))
	fmt.Fprintf(env.Stderr, "%s the estimate (%s) is above the last known balance (%s, as of %s). Apply will stop submitting if credits run out.\n",
		pal.warn.Sprint("Warning:"), formatCents(pl.plan.EstimatedCents), formatCents(b.Cents), b.At.Format("2006-01-02 15:04"))
}

// confirm asks for "yes" on a terminal and refuses without one.
func confirm(env *Env) error {
	if !env.StdinIsTerminal {
		return &ExitErr{Code: ExitError, Err: errors.New("apply needs confirmation but standard input is not a terminal: review the plan and run with -auto-approve")}
	}
	fmt.Fprint(env.Stdout, "\nDo you want to generate these assets? Only 'yes' will be accepted.\n  Enter a value: ")
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	if strings.TrimSpace(line) != "yes" {
		return &ExitErr{Code: ExitError, Err: errors.New("apply cancelled")}
	}
	return nil
}

// execute runs the executor with signal handling and prints the summary.
func execute(ctx context.Context, env *Env, in *interrupts, pl *planned, c *conn, store *state.Store, claims executor.Claimer, parallelism int, jv *jsonView) error {
	in.startExecuting()
	stop := in.stop
	var view executor.Observer = newLineView(env)
	var live *liveView
	switch {
	case jv != nil:
		view = jv
	case env.StdoutIsTerminal:
		live = newLiveView(env.Stdout, toRun(pl), pl.plan.EstimatedCents, pl.plan.Unpriced, c.client.Limiter(), useColor(env))
		view = live
	}
	if wo, ok := view.(windowObserver); ok {
		c.window.send(wo.Window)
	}
	sum, err := executor.Run(ctx, pl.plan, executor.Options{Client: c.client, HTTP: c.downloads, Store: store, Clock: clock.Real(),
		Parallelism: parallelism, Observer: view, Stop: stop, Claims: claims})
	c.window.send(func(xpilot.WindowNote) {}) // the view is done
	if live != nil {
		live.Close()
	}
	switch {
	case sum != nil && jv != nil:
		jv.Summary(sum)
	case sum != nil:
		printSummary(env, sum, pl.plan)
	}
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	switch {
	case sum.Interrupted:
		return silent(ExitInterrupted)
	case !sum.OK():
		return silent(ExitError)
	}
	return nil
}

// toRun counts the nodes apply will work on.
func toRun(pl *planned) int {
	n := 0
	for _, node := range pl.plan.Nodes {
		if !node.Excluded && !node.Action.Idle() {
			n++
		}
	}
	return n
}

// interrupts handles SIGINT/SIGTERM for apply. Until execution starts
// nothing has been submitted, so the first signal exits at once (planning
// may be waiting on the catalog, confirmation on the user). During execution
// the first signal closes stop, which ends submitting and saves state, and
// the second exits at once.
type interrupts struct {
	stop      chan struct{}
	mu        sync.Mutex // guards executing and stopped
	executing bool
	stopped   bool
}

func watchInterrupts(env *Env) *interrupts {
	in := &interrupts{stop: make(chan struct{})}
	if env.Signals != nil {
		go in.loop(env)
	}
	return in
}

// executing marks the start of execution.
func (in *interrupts) startExecuting() {
	in.mu.Lock()
	in.executing = true
	in.mu.Unlock()
}

func (in *interrupts) loop(env *Env) {
	for range env.Signals {
		in.mu.Lock()
		executing, first := in.executing, !in.stopped
		if executing && first {
			in.stopped = true
			close(in.stop)
		}
		in.mu.Unlock()
		switch {
		case !executing:
			fmt.Fprintln(env.Stderr, "\nInterrupted before anything was submitted.")
		case first:
			fmt.Fprintln(env.Stderr, "\nInterrupt: no new submits; saving state. Press Ctrl-C again to exit at once.")
			continue
		default:
			fmt.Fprintln(env.Stderr, "Second interrupt: exiting now. State is saved after every step.")
		}
		if env.Exit != nil {
			env.Exit(ExitInterrupted)
		}
		return
	}
}

// isPlanFile reports whether arg names a saved plan rather than a spec.
func isPlanFile(arg string) bool {
	fi, err := os.Stat(arg)
	return err == nil && !fi.IsDir() && !strings.HasSuffix(arg, ".xp.hcl")
}
