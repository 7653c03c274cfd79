package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitChanges = 2 // plan -detailed-exitcode: there are changes
	// ExitUsage is 1, as in Terraform, so that a bad flag can never read as
	// "changes" to a script using plan -detailed-exitcode.
	ExitUsage       = 1
	ExitInterrupted = 130
)

// ExitErr is an error that carries the process exit code. A nil Err means
// the message was already printed.
type ExitErr struct {
	Code int
	Err  error
}

func (e *ExitErr) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitErr) Unwrap() error { return e.Err }

// silent is an exit code whose message was already printed.
func silent(code int) error { return &ExitErr{Code: code} }

// Env is what a command may touch of the outside world. Tests fill it in.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Environ lists the environment as KEY=VALUE, for XPFLOW_VAR_*.
	Environ []string
	// Signals delivers interrupts to apply; nil means none arrive.
	Signals <-chan os.Signal
	// Exit ends the process at once (a second interrupt); nil ignores it.
	Exit func(code int)
	// StdinIsTerminal and StdoutIsTerminal decide prompts and colour.
	StdinIsTerminal  bool
	StdoutIsTerminal bool
}

type command struct {
	name    string
	summary string
	run     func(env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"apply", "Generate what the plan says, recording state as it goes", runApply},
		{"fmt", "Rewrite spec files in canonical format", runFmt},
		{"graph", "Print the asset graph in DOT", runGraph},
		{"init", "Write a commented starter spec", runInit},
		{"models", "List the model catalog with prices and capabilities", runModels},
		{"output", "Show output values from the state", runOutput},
		{"plan", "Show what apply would generate and what it would cost", runPlan},
		{"report", "Write a review page of the campaign", runReport},
		{"show", "Show the assets recorded in the state", runShow},
		{"sim", "Serve the xPilot API simulator on loopback", runSim},
		{"state", "Inspect, edit or move the state (list, rm, push, pull)", runState},
		{"validate", "Check a spec's syntax and references without the API", runValidate},
	}
}

// Main runs xpflow with args (without the program name) and returns the
// exit code.
func Main(env *Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if c.name != "apply" && c.name != "sim" {
				go exitOnSignal(env)
			}
			return exitCode(env, c.run(env, args[1:]))
		}
	}
	fmt.Fprintf(env.Stderr, "xpflow: unknown command %q%s\n\n", args[0], didYouMeanCommand(args[0]))
	usage(env.Stderr)
	return ExitUsage
}

// exitOnSignal ends commands that hold nothing worth saving at the first
// interrupt; apply and sim handle signals themselves.
func exitOnSignal(env *Env) {
	if env.Signals == nil || env.Exit == nil {
		return
	}
	if _, ok := <-env.Signals; ok {
		fmt.Fprintln(env.Stderr, "\nInterrupted.")
		env.Exit(ExitInterrupted)
	}
}

func exitCode(env *Env, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitErr
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(env.Stderr, "Error: %v\n", ee.Err)
		}
		return ee.Code
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "Error: %v\n", err)
	return ExitError
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: xpflow COMMAND [flags] [DIR]")
	fmt.Fprintln(w, "\nxpflow plans and applies generative-media campaigns written in HCL.")
	fmt.Fprintln(w, "\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'xpflow COMMAND -h' for the flags of a command.")
}

func didYouMeanCommand(name string) string {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) {
			return fmt.Sprintf(" (did you mean %q?)", c.name)
		}
	}
	return ""
}

// newFlags returns a flag set that reports errors to the env's stderr and
// returns them instead of exiting.
func newFlags(env *Env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: xpflow %s [flags] %s\n\nFlags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; a bad flag is a usage error whose message flag has
// already printed.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return silent(ExitUsage)
	}
	return nil
}

// oneArg returns the single optional positional argument, default ".".
func oneArg(fs *flag.FlagSet) (string, error) {
	switch fs.NArg() {
	case 0:
		return ".", nil
	case 1:
		return fs.Arg(0), nil
	}
	return "", &ExitErr{Code: ExitUsage, Err: fmt.Errorf("too many arguments: %s (flags go before DIR)", strings.Join(fs.Args(), " "))}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
