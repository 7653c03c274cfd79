package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// globalFlags consumes the flags before the command: -chdir=DIR (or
// -chdir DIR) switches directory through env.Chdir, -version prints the
// version. It returns the remaining arguments, or done with an exit code.
func globalFlags(env *Env, args []string) (rest []string, code int, done bool) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		switch name {
		case "h", "help":
			return args, 0, false
		case "version", "v":
			return nil, exitCode(env, printVersion(env, false)), true
		case "chdir", "C":
			if !hasValue {
				if len(args) < 2 {
					fmt.Fprintln(env.Stderr, "Error: -chdir needs a directory: xpflow -chdir=DIR COMMAND")
					return nil, ExitUsage, true
				}
				value, args = args[1], args[1:]
			}
			if err := chdir(env, value); err != nil {
				fmt.Fprintf(env.Stderr, "Error: -chdir=%s: %v\n", value, err)
				return nil, ExitError, true
			}
			env.chdirArg = value
		default:
			s := ""
			if c := closest(name, []string{"chdir", "version", "help"}); c != "" {
				s = fmt.Sprintf(" Did you mean -%s?", c)
			} else if isCommandFlag(name) {
				s = " Command flags go after the command: xpflow COMMAND -" + name
			}
			fmt.Fprintf(env.Stderr, "Error: unknown global flag %s.%s\n\n", args[0], s)
			usage(env.Stderr)
			return nil, ExitUsage, true
		}
		args = args[1:]
	}
	return args, 0, false
}

// isCommandFlag reports whether some command has a flag of that name.
func isCommandFlag(name string) bool {
	for _, c := range commandFlags() {
		for _, f := range c.flags {
			if f == name {
				return true
			}
		}
	}
	return false
}

// hint spells a command for the user to type next, as they would type it
// where they typed this one: with the -chdir they gave (paths in args are
// relative to it), each word quoted for a POSIX shell when it needs it.
func hint(env *Env, args ...string) string {
	words := []string{"xpflow"}
	if env.chdirArg != "" {
		words = append(words, "-chdir="+shellQuote(env.chdirArg))
	}
	for _, a := range args {
		words = append(words, shellQuote(a))
	}
	return strings.Join(words, " ")
}

// shellQuote returns s as one word of a POSIX shell: bare when it holds
// only characters no shell treats specially, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func chdir(env *Env, dir string) error {
	if env.Chdir == nil {
		return fmt.Errorf("changing directory is not available here")
	}
	return env.Chdir(dir)
}

// versionInfo is what 'xpflow version -json' prints.
type versionInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// buildVersion reads the module version and VCS stamp the Go toolchain
// put in the binary.
func buildVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionFrom(bi)
}

// versionFrom takes what 'version' prints from bi (nil when the binary
// carries no build information).
func versionFrom(bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: "(unknown)"}
	if bi == nil {
		return v
	}
	v.Version, v.GoVersion = bi.Main.Version, bi.GoVersion
	if v.Version == "" {
		v.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the human form: "xpflow VERSION, revision REV (modified),
// committed TIME" and "built with goX.Y" on a second line.
func (v versionInfo) String() string {
	line := "xpflow " + v.Version
	if v.Revision != "" {
		line += ", revision " + v.Revision
		if v.Modified {
			line += " (modified)"
		}
		if v.Time != "" {
			line += ", committed " + v.Time
		}
	}
	goVersion := v.GoVersion
	if goVersion == "" {
		goVersion = "an unknown Go version"
	}
	return line + "\nbuilt with " + goVersion + "\n"
}

func printVersion(env *Env, asJSON bool) error {
	v := buildVersion()
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(env.Stdout, v.String())
	return err
}

func runVersion(env *Env, args []string) error {
	fs := newFlags(env, "version", "")
	asJSON := fs.Bool("json", false, "print the version as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("version takes no arguments, got %s", strings.Join(fs.Args(), " "))}
	}
	return printVersion(env, *asJSON)
}
