// Command xpflow plans and applies generative-media campaigns written in
// HCL against the xPilot v1 API. All the work is in internal/cli.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/xpflow/xpflow/internal/cli"
)

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	env := &cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, Environ: os.Environ(),
		Signals: sigs, Exit: os.Exit, Chdir: os.Chdir,
		StdinIsTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
		StdoutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
	os.Exit(cli.Main(env, os.Args[1:]))
}
