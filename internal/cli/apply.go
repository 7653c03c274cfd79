package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
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
	if *asJSON && !*auto {
		return &ExitErr{Code: ExitUsage, Err: errors.New("-json needs -auto-approve: review the plan with 'xpflow plan' first")}
	}
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
	statePath := f.statePath
	if statePath == "" {
		statePath = defaultStatePath(sp, f.simulate)
	}
	store, err := state.Open(statePath)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	defer store.Close()
	c, err := connect(env, sp, f.simulate)
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
	return execute(ctx, env, pl, c, store, *parallelism, jv)
}

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
func execute(ctx context.Context, env *Env, pl *planned, c *conn, store *state.Store, parallelism int, jv *jsonView) error {
	stop := make(chan struct{})
	var once sync.Once
	go watchSignals(env, stop, &once)
	var view executor.Observer = newLineView(env)
	var live *liveView
	switch {
	case jv != nil:
		view = jv
	case env.StdoutIsTerminal:
		live = newLiveView(env.Stdout, toRun(pl), pl.plan.EstimatedCents, c.client.Limiter(), useColor(env))
		view = live
	}
	sum, err := executor.Run(ctx, pl.plan, executor.Options{Client: c.client, Store: store, Clock: clock.Real(),
		Parallelism: parallelism, Observer: view, Stop: stop})
	if live != nil {
		live.Close()
	}
	switch {
	case sum != nil && jv != nil:
		jv.Summary(sum)
	case sum != nil:
		printSummary(env, sum)
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
		if !node.Excluded && node.Action != planner.ActionNoop {
			n++
		}
	}
	return n
}

// watchSignals closes stop on the first interrupt and exits at once on the
// second.
func watchSignals(env *Env, stop chan struct{}, once *sync.Once) {
	if env.Signals == nil {
		return
	}
	n := 0
	for range env.Signals {
		n++
		if n == 1 {
			fmt.Fprintln(env.Stderr, "\nInterrupt: no new submits; saving state. Press Ctrl-C again to exit at once.")
			once.Do(func() { close(stop) })
			continue
		}
		fmt.Fprintln(env.Stderr, "Second interrupt: exiting now. State is saved after every step.")
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
