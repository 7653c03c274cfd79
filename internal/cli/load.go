package cli

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// specFlags are the flags shared by commands that load a spec.
type specFlags struct {
	vars         multiFlag
	varFiles     multiFlag
	allowOutside bool
}

func (f *specFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.vars, "var", "set a variable: -var 'name=value' (repeatable)")
	fs.Var(&f.varFiles, "var-file", "load variables from an HCL file (repeatable)")
	fs.BoolVar(&f.allowOutside, "allow-outside-files", false,
		"let file() and templatefile() read, and output_dir name, paths outside the spec directory")
}

// loadSpec loads the spec at path and prints its diagnostics. It fails
// when there are errors.
func loadSpec(env *Env, path string, f *specFlags) (*spec.Spec, error) {
	var secrets []string
	if env.Getenv != nil {
		secrets = []string{strings.TrimSpace(env.Getenv(xpilot.EnvAPIKey))}
	}
	sp, diags := spec.Load(path, spec.LoadOptions{Vars: f.vars, VarFiles: f.varFiles,
		Getenv: env.Getenv, Environ: env.Environ, AllowOutsideFiles: f.allowOutside, Secrets: secrets})
	if err := printDiags(env, sp, diags); err != nil {
		return nil, err
	}
	return sp, nil
}

// printDiags writes diagnostics the way HCL does, coloured on a terminal,
// and returns a silent error when any is an error.
func printDiags(env *Env, sp *spec.Spec, diags hcl.Diagnostics) error {
	if len(diags) == 0 {
		return nil
	}
	var files map[string]*hcl.File
	if sp != nil {
		files = sp.DisplayFiles()
	}
	width := 0
	if env.StdoutIsTerminal {
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil {
			width = w
		}
	}
	wr := hcl.NewDiagnosticTextWriter(env.Stderr, files, uint(width), useColor(env))
	_ = wr.WriteDiagnostics(withoutSyntheticSubjects(diags))
	if diags.HasErrors() {
		return silent(ExitError)
	}
	return nil
}

// withoutSyntheticSubjects drops the source range of diagnostics about
// command-line values (-var): there is no file to quote, and the writer
// would print "(source code not available)".
func withoutSyntheticSubjects(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		if d.Subject != nil && d.Subject.Filename == "-var" {
			c := *d
			c.Subject, c.Context = nil, nil
			d = &c
		}
		out[i] = d
	}
	return out
}

func useColor(env *Env) bool {
	return env.StdoutIsTerminal && env.Getenv("NO_COLOR") == ""
}

// conn is a connection to the API: the real one, or an in-process simulator.
type conn struct {
	client    *xpilot.Client
	sim       *sim.Running
	simulated bool
	// window relays the shared limiter's waits on other processes; nil
	// when the window is not shared.
	window *windowRelay
	// downloads fetches outputs; nil means the executor's default. With
	// -simulate it reaches the simulator's stable CDN host.
	downloads *http.Client
	// windowDB holds the Postgres window ledger's connections; nil when
	// the window is not kept in Postgres.
	windowDB *pgstore.Store
}

func (c *conn) Close() {
	c.window.close()
	if c.windowDB != nil {
		c.windowDB.Close()
	}
	if c.sim != nil {
		_ = c.sim.Close()
	}
}

// simulateOptions make -simulate quick enough to watch: the documented
// limits and prices, but generations that take seconds, not minutes.
func simulateOptions() []sim.Option {
	return []sim.Option{
		sim.WithLatency("video", 4*time.Second, 10*time.Second),
		sim.WithLatency("image", 2*time.Second, 5*time.Second),
	}
}

// simSecret is the secret that signs -simulate task ids for the state with
// this lineage, so that a later -simulate run on the same state answers
// for tasks an earlier one submitted (resume, download), and no other
// state's tasks.
func simSecret(lineage string) []byte {
	h := sha256.Sum256([]byte("xpflow -simulate task ids\x00" + lineage))
	return h[:]
}

// connect builds the client. The spec's provider block is the base; the
// environment wins over it. With simulate, the client talks to a simulator
// started on loopback and no key is needed; lineage is the state's, which
// signs the simulated task ids.
func connect(env *Env, sp *spec.Spec, simulate bool, lineage string) (*conn, error) {
	base := xpilot.Config{}
	if sp != nil {
		base.BaseURL = sp.Provider.BaseURL
		base.RequestsPerMinute = sp.Provider.RequestsPerMinute
	}
	cfg, err := xpilot.ConfigFromEnv(env.Getenv, base)
	if err != nil {
		return nil, &ExitErr{Code: ExitError, Err: err}
	}
	c := &conn{simulated: simulate}
	if simulate {
		run, err := sim.Start("", append(simulateOptions(), sim.WithTaskSecret(simSecret(lineage)))...)
		if err != nil {
			return nil, fmt.Errorf("start the simulator: %w", err)
		}
		c.sim, c.downloads = run, run.Client()
		cfg.BaseURL, cfg.APIKey = run.URL, run.Key
	} else if cfg.APIKey == "" {
		return nil, &ExitErr{Code: ExitError, Err: errors.New(
			"XPILOT_API_KEY is not set: set it to your xPilot key, or add -simulate to run against the built-in simulator")}
	}
	if !simulate {
		// Every xpflow process using this key shares its window; a
		// simulator of its own has nobody to share with.
		if cfg.Limiter = postgresLimiter(env, sp, cfg, c); cfg.Limiter == nil {
			cfg.Limiter = sharedLimiter(env, cfg)
		}
	}
	c.client, err = xpilot.New(cfg)
	if err != nil {
		c.Close()
		return nil, &ExitErr{Code: ExitError, Err: err}
	}
	if cfg.Limiter != nil {
		c.window = relayWindow(env, cfg.Limiter)
	}
	return c, nil
}

// defaultStatePath is where a spec directory keeps its state. Simulated
// runs keep theirs apart, so simulator results can never pass for paid ones.
func defaultStatePath(sp *spec.Spec, simulate bool) string {
	if simulate {
		return filepath.Join(sp.Dir, "xpflow.simulate.state.json")
	}
	return filepath.Join(sp.Dir, "xpflow.state.json")
}
