package cli

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// cmdFlags is a command (or "state list") with the names of its flags.
type cmdFlags struct {
	name  string
	flags []string
}

// flagLine matches a flag in flag.PrintDefaults output.
var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9-]+)`)

// commandFlags lists every command's flags as its own -h prints them, so
// completion and suggestions can never drift from the flag definitions.
func commandFlags() []cmdFlags {
	var out []cmdFlags
	for _, c := range commands() {
		if c.name == "completion" {
			continue // its -h would recurse here
		}
		invocations := [][]string{{"-h"}}
		if c.name == "state" {
			invocations = [][]string{{"list", "-h"}, {"rm", "-h"}, {"push", "-h"}, {"pull", "-h"}}
		}
		for _, args := range invocations {
			var buf bytes.Buffer
			env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &buf, Getenv: func(string) string { return "" }}
			_ = c.run(env, args)
			cf := cmdFlags{name: strings.TrimSpace(c.name + " " + strings.Join(args[:len(args)-1], " "))}
			for _, m := range flagLine.FindAllStringSubmatch(buf.String(), -1) {
				cf.flags = append(cf.flags, m[1])
			}
			sort.Strings(cf.flags)
			out = append(out, cf)
		}
	}
	return out
}

func runCompletion(env *Env, args []string) error {
	fs := newFlags(env, "completion", "bash|zsh|fish")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("completion needs a shell: xpflow completion bash|zsh|fish")}
	}
	switch fs.Arg(0) {
	case "bash":
		writeBashCompletion(env.Stdout)
	case "zsh":
		fmt.Fprintln(env.Stdout, "#compdef xpflow")
		fmt.Fprintln(env.Stdout, "autoload -U +X bashcompinit && bashcompinit")
		writeBashCompletion(env.Stdout)
	case "fish":
		writeFishCompletion(env.Stdout)
	default:
		return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("completion: unknown shell %q: want bash, zsh or fish", fs.Arg(0))}
	}
	return nil
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return names
}

// writeBashCompletion writes a completion function: commands first, then
// the flags of the command typed, then files and directories.
func writeBashCompletion(w io.Writer) {
	fmt.Fprintln(w, "# xpflow completion for bash; load with: source <(xpflow completion bash)")
	fmt.Fprintln(w, "_xpflow() {")
	fmt.Fprintln(w, `  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" i`)
	fmt.Fprintln(w, `  for ((i = 1; i < COMP_CWORD; i++)); do`)
	fmt.Fprintln(w, `    case "${COMP_WORDS[i]}" in -*) ;; *) if [[ -z $cmd ]]; then cmd="${COMP_WORDS[i]}"; elif [[ -z $sub ]]; then sub="${COMP_WORDS[i]}"; fi ;; esac`)
	fmt.Fprintln(w, `  done`)
	fmt.Fprintln(w, `  local words=""`)
	fmt.Fprintln(w, `  case "$cmd" in`)
	fmt.Fprintf(w, "    \"\") words=\"%s -chdir= -version -help\" ;;\n", strings.Join(commandNames(), " "))
	fmt.Fprintln(w, `    state) case "$sub" in`)
	for _, cf := range commandFlags() {
		if sub, ok := strings.CutPrefix(cf.name, "state "); ok {
			fmt.Fprintf(w, "      %s) words=\"%s\" ;;\n", sub, dashed(cf.flags))
		}
	}
	fmt.Fprintln(w, `      *) words="list rm push pull" ;;`)
	fmt.Fprintln(w, `    esac ;;`)
	fmt.Fprintln(w, `    completion) words="bash zsh fish" ;;`)
	for _, cf := range commandFlags() {
		if !strings.Contains(cf.name, " ") && cf.name != "state" {
			fmt.Fprintf(w, "    %s) words=\"%s\" ;;\n", cf.name, dashed(cf.flags))
		}
	}
	fmt.Fprintln(w, `  esac`)
	fmt.Fprintln(w, `  if [[ -z $cmd || $cur == -* || $cmd == completion || ( $cmd == state && -z $sub ) ]]; then`)
	fmt.Fprintln(w, `    COMPREPLY=($(compgen -W "$words" -- "$cur"))`)
	fmt.Fprintln(w, `  else`)
	fmt.Fprintln(w, `    COMPREPLY=($(compgen -f -- "$cur"))`)
	fmt.Fprintln(w, `  fi`)
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, "complete -o filenames -F _xpflow xpflow")
}

func dashed(flags []string) string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = "-" + f
	}
	return strings.Join(out, " ")
}

// writeFishCompletion writes fish 'complete' lines for commands and flags.
func writeFishCompletion(w io.Writer) {
	fmt.Fprintln(w, "# xpflow completion for fish; load with: xpflow completion fish | source")
	fmt.Fprintln(w, "complete -c xpflow -f")
	for _, c := range commands() {
		fmt.Fprintf(w, "complete -c xpflow -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	fmt.Fprintln(w, "complete -c xpflow -n __fish_use_subcommand -o chdir -r -a '(__fish_complete_directories)' -d 'switch to DIR first'")
	fmt.Fprintln(w, "complete -c xpflow -n __fish_use_subcommand -o version -d 'print the version'")
	fmt.Fprintln(w, "complete -c xpflow -n '__fish_seen_subcommand_from state; and not __fish_seen_subcommand_from list rm push pull' -a 'list rm push pull'")
	fmt.Fprintln(w, "complete -c xpflow -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'")
	for _, cf := range commandFlags() {
		cond := "__fish_seen_subcommand_from " + cf.name
		if sub, ok := strings.CutPrefix(cf.name, "state "); ok {
			cond = "__fish_seen_subcommand_from state; and __fish_seen_subcommand_from " + sub
		}
		for _, f := range cf.flags {
			fmt.Fprintf(w, "complete -c xpflow -n '%s' -o %s\n", cond, f)
		}
		if cf.name != "models" && cf.name != "sim" && cf.name != "version" {
			fmt.Fprintf(w, "complete -c xpflow -n '%s' -F\n", cond)
		}
	}
}

func fishQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
