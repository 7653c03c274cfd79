package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/agext/levenshtein"
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
	// Chdir changes the working directory for -chdir; nil refuses it.
	Chdir func(dir string) error
	// StdinIsTerminal and StdoutIsTerminal decide prompts and colour.
	StdinIsTerminal  bool
	StdoutIsTerminal bool

	// chdirArg is the -chdir=DIR given, for the commands hints spell out.
	chdirArg string
}

type command struct {
	name    string
	summary string
	run     func(env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"apply", "Generate what the plan says, recording state as it goes", runApply},
		{"completion", "Print a shell completion script (bash, zsh, fish)", runCompletion},
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
		{"version", "Print the version and VCS revision of this binary", runVersion},
		{"window", "Show the key's request window shared by xpflow runs", runWindow},
	}
}

// Main runs xpflow with args (without the program name) and returns the
// exit code. Global flags (-chdir=DIR, -version, -h) come before the
// command, as in Terraform.
func Main(env *Env, args []string) int {
	args, code, done := globalFlags(env, args)
	if done {
		return code
	}
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
	fmt.Fprintf(env.Stderr, "xpflow: unknown command %q.%s\n\n", args[0], didYouMeanCommand(args[0]))
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
	fmt.Fprintln(w, "Usage: xpflow [-chdir=DIR] COMMAND [flags] [DIR]")
	fmt.Fprintln(w, "\nxpflow plans and applies generative-media campaigns written in HCL.")
	fmt.Fprintln(w, "\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cs {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nGlobal flags (before COMMAND):")
	fmt.Fprintln(w, "  -chdir=DIR, -C DIR  switch to DIR before running the command (every path is then relative to DIR)")
	fmt.Fprintln(w, "  -version, -v        print the version, as 'xpflow version' does")
	fmt.Fprintln(w, "\nRun 'xpflow COMMAND -h' for the flags of a command.")
}

// didYouMeanCommand suggests the closest command, or "".
func didYouMeanCommand(name string) string {
	names := make([]string, 0, len(commands()))
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if s := closest(name, names); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// closest returns the candidate nearest to given, or "" when none is near
// enough to be a typo of it (or given is a prefix of exactly one).
func closest(given string, cands []string) string {
	best, bestD := "", len(given)/3+2
	var prefixed []string
	for _, c := range cands {
		if strings.HasPrefix(c, given) {
			prefixed = append(prefixed, c)
		}
		if d := levenshtein.Distance(given, c, nil); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" && len(prefixed) == 1 {
		return prefixed[0]
	}
	return best
}

// newFlags returns a flag set that reports errors to the env's stderr and
// returns them instead of exiting. A command whose arguments name a DIR
// also takes -dir=DIR, the same directory by flag.
func newFlags(env *Env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: xpflow [-chdir=DIR] %s [flags] %s\n\nFlags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	if strings.Contains(argsUsage, "DIR") {
		fs.String("dir", "", "the spec directory, as the DIR argument names it (default: the current directory)")
	}
	return fs
}

// parse parses flags. Flags may come before or after positional arguments
// ('plan examples/launch -simulate'); "--" ends them. A bad flag is a usage
// error naming the closest flag.
func parse(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	var pos []string
	for {
		var msg strings.Builder
		fs.SetOutput(&msg)
		err := fs.Parse(args)
		fs.SetOutput(out)
		if errors.Is(err, flag.ErrHelp) {
			_, _ = io.WriteString(out, msg.String()) // the usage
			return err
		}
		if err != nil {
			fmt.Fprintf(out, "Error: %v.%s\nRun 'xpflow %s -h' for its flags.\n", err, didYouMeanFlag(fs, err), fs.Name())
			return silent(ExitUsage)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// didYouMeanFlag names the defined flag closest to the one flag rejected.
func didYouMeanFlag(fs *flag.FlagSet, err error) string {
	m := err.Error()
	i := strings.LastIndex(m, " -")
	if i < 0 {
		return ""
	}
	given := strings.TrimLeft(m[i+1:], "-")
	if j := strings.IndexByte(given, '='); j >= 0 {
		given = given[:j]
	}
	if given == "chdir" || given == "version" {
		return fmt.Sprintf(" -%s is a global flag: put it before the command, as in xpflow -%s=... %s", given, given, fs.Name())
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if s := closest(given, names); s != "" && s != given {
		return fmt.Sprintf(" Did you mean -%s?", s)
	}
	return ""
}

// oneArg returns the spec directory: the single optional positional
// argument or -dir, default ".". Both given must agree.
func oneArg(fs *flag.FlagSet) (string, error) {
	flagDir := ""
	if f := fs.Lookup("dir"); f != nil {
		flagDir = f.Value.String()
	}
	switch {
	case fs.NArg() > 1:
		return "", &ExitErr{Code: ExitUsage, Err: fmt.Errorf("too many arguments: %s; %s takes one DIR", strings.Join(fs.Args(), " "), fs.Name())}
	case fs.NArg() == 1 && flagDir != "" && filepath.Clean(flagDir) != filepath.Clean(fs.Arg(0)):
		return "", &ExitErr{Code: ExitUsage, Err: fmt.Errorf("-dir %s and the argument %s name different directories; give one", flagDir, fs.Arg(0))}
	case fs.NArg() == 1:
		return fs.Arg(0), nil
	case flagDir != "":
		return flagDir, nil
	}
	return ".", nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
