package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

// openPostgres opens the campaign of the spec's backend "postgres" block.
// XPFLOW_BACKEND_CONN overrides conn_str. Messages name the campaign and
// database, never the connection string, which may hold a password.
func openPostgres(ctx context.Context, env *Env, sp *spec.Spec) (*pgstore.Store, error) {
	b := sp.Settings.Backend
	if b == nil {
		return nil, &ExitErr{Code: ExitUsage, Err: fmt.Errorf("%s has no backend \"postgres\" block in its xpflow block", sp.Dir)}
	}
	conn := env.Getenv(pgstore.EnvConn)
	if conn == "" {
		conn = b.ConnStr
	}
	if conn == "" {
		return nil, &ExitErr{Code: ExitUsage, Err: fmt.Errorf("%s: backend \"postgres\" needs conn_str or the environment variable %s",
			b.DeclRange, pgstore.EnvConn)}
	}
	s, err := pgstore.Open(ctx, conn, b.Campaign, pgstore.Options{Runner: env.Getenv("XPFLOW_RUNNER")})
	if err != nil {
		return nil, &ExitErr{Code: ExitError, Err: err}
	}
	return s, nil
}

// runStateMove runs 'state push' (local file -> Postgres campaign) and
// 'state pull' (campaign -> local file).
func runStateMove(env *Env, verb string, args []string) error {
	fs := newFlags(env, "state "+verb, "[DIR]")
	var sf stateFlag
	sf.register(fs)
	var f specFlags
	f.register(fs)
	force := fs.Bool("force", false, "overwrite newer data")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	sp, err := loadSpec(env, dir, &f)
	if err != nil {
		return err
	}
	ctx := context.Background()
	pg, err := openPostgres(ctx, env, sp)
	if err != nil {
		return err
	}
	defer pg.Close()
	path := sf.resolve(sp.Dir)
	if sf.path != "" {
		path = sf.path
	}
	if verb == "push" {
		return statePush(ctx, env, pg, path, *force)
	}
	return statePull(ctx, env, pg, path, *force)
}

func statePush(ctx context.Context, env *Env, pg *pgstore.Store, path string, force bool) error {
	store, err := state.Open(path) // locked: no local apply writes meanwhile
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	defer store.Close()
	st := store.Snapshot()
	if st.Serial == 0 && len(st.Assets) == 0 {
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("%s is empty or missing: nothing to push", path)}
	}
	if err := pg.Replace(ctx, st, force); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	fmt.Fprintf(env.Stdout, "Pushed %s (serial %d) from %s to %s.\n", plural(len(st.Assets), "asset", "assets"), st.Serial, path, pg)
	return nil
}

func statePull(ctx context.Context, env *Env, pg *pgstore.Store, path string, force bool) error {
	store, err := state.Open(path)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	defer store.Close()
	st, err := pg.Snapshot(ctx)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if why := pgstore.Newer(store.Snapshot(), st); why != "" && !force {
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("%s: %w: %s (use -force to overwrite)", path, pgstore.ErrNewer, why)}
	}
	// Fold the local journal into the file first: records of the old
	// state must not be replayed over the pulled one.
	if err := store.Update(func(*state.State) error { return nil }); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	data, err := state.Encode(st)
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if err := state.WriteFileAtomic(store.Path(), data, state.FileMode); err != nil {
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("writing %s: %w", path, err)}
	}
	fmt.Fprintf(env.Stdout, "Pulled %s (serial %d) from %s to %s.\n", plural(len(st.Assets), "asset", "assets"), st.Serial, pg, path)
	return nil
}

// usePostgres reports whether a command's state is the spec's Postgres
// campaign: the spec has a backend "postgres" block, and neither -state
// nor -simulate (whose runs keep their own file) was given.
func usePostgres(sp *spec.Spec, statePath string, simulate bool) bool {
	return sp != nil && sp.Settings.Backend != nil && statePath == "" && !simulate
}

// EnvLease sets the lease of a runner's claims on a Postgres campaign (a
// Go duration, default pgstore.DefaultLease): how long after a runner dies
// the others take its work over.
const EnvLease = "XPFLOW_CLAIM_LEASE"

// openStateStore opens the state apply writes: the state file, locked, or
// the spec's Postgres campaign, shared with the other runners applying it,
// with the claims that keep them apart. Call done when finished.
func openStateStore(env *Env, sp *spec.Spec, statePath string, simulate bool) (store *state.Store, claims executor.Claimer, done func(), err error) {
	if !usePostgres(sp, statePath, simulate) {
		if statePath == "" {
			statePath = defaultStatePath(sp, simulate)
		}
		store, err := state.Open(statePath)
		if err != nil {
			return nil, nil, nil, &ExitErr{Code: ExitError, Err: err}
		}
		return store, nil, func() { store.Close() }, nil
	}
	lease := pgstore.DefaultLease
	if v := env.Getenv(EnvLease); v != "" {
		if lease, err = time.ParseDuration(v); err != nil || lease < 100*time.Millisecond {
			return nil, nil, nil, &ExitErr{Code: ExitUsage, Err: fmt.Errorf("%s=%q: want a duration of at least 100ms, such as 30s", EnvLease, v)}
		}
	}
	pg, err := openPostgres(context.Background(), env, sp)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err = state.OpenBackend(pg.String(), pg)
	if err != nil {
		pg.Close()
		return nil, nil, nil, &ExitErr{Code: ExitError, Err: err}
	}
	cl := pg.Claimer(lease, clock.Real())
	return store, cl, func() { cl.Close(); store.Close(); pg.Close() }, nil
}

// readState reads the state of a read command (plan, show, output,
// report): one consistent snapshot of the Postgres campaign, taken while
// runners may be writing, or the state file.
func readState(env *Env, sp *spec.Spec, statePath string, simulate bool) (*state.State, error) {
	if !usePostgres(sp, statePath, simulate) {
		if statePath == "" {
			statePath = defaultStatePath(sp, simulate)
		}
		st, err := state.Load(statePath)
		if err != nil {
			return nil, &ExitErr{Code: ExitError, Err: err}
		}
		return st, nil
	}
	ctx := context.Background()
	pg, err := openPostgres(ctx, env, sp)
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	st, err := pg.Snapshot(ctx)
	if err != nil {
		return nil, &ExitErr{Code: ExitError, Err: err}
	}
	return st, nil
}

// quietSpec loads the spec in dir for a command that works without one
// (show, report), to learn its backend: nil, and no message, when dir holds
// no spec that loads.
func quietSpec(env *Env, dir string) *spec.Spec {
	sp, diags := spec.Load(dir, spec.LoadOptions{Getenv: env.Getenv, Environ: env.Environ})
	if diags.HasErrors() {
		return nil
	}
	return sp
}

// readStateDir reads the state for a command given a directory and state
// flags but no loaded spec (show, state list, report): the Postgres
// campaign when dir's spec names one, else the state file.
func readStateDir(env *Env, dir string, sf stateFlag) (*state.State, error) {
	if sp := quietSpec(env, dir); usePostgres(sp, sf.path, sf.simulate) {
		return readState(env, sp, "", false)
	}
	st, err := state.Load(sf.resolve(dir))
	if err != nil {
		return nil, &ExitErr{Code: ExitError, Err: err}
	}
	return st, nil
}

// postgresLimiter returns a limiter whose window is shared through the
// database of the spec's backend "postgres" block, so that runners on
// every machine share their key's requests a minute; nil without such a
// block. If the database cannot be reached it warns and returns nil: the
// window is then shared through the local cache only.
func postgresLimiter(env *Env, sp *spec.Spec, cfg xpilot.Config, c *conn) *xpilot.Limiter {
	if sp == nil || sp.Settings.Backend == nil {
		return nil
	}
	warn := stderrWarner(env)
	pg, err := openPostgres(context.Background(), env, sp)
	if err != nil {
		warn(fmt.Sprintf("warning: the request window is not shared through Postgres (%v); only this machine's runs are counted", err))
		return nil
	}
	c.windowDB = pg
	return xpilot.NewSharedLimiter(cfg.RequestsPerMinute, cfg.Clock, pg.Window(cfg.BaseURL, cfg.APIKey, warn), warn)
}

// stateRmPostgres is 'state rm' on the spec's Postgres campaign: the
// records go, in one transaction, with a journal row each.
func stateRmPostgres(env *Env, sp *spec.Spec, addrs []string) error {
	if len(addrs) == 0 {
		return &ExitErr{Code: ExitUsage, Err: errors.New("state rm needs at least one address")}
	}
	store, _, done, err := openStateStore(env, sp, "", false)
	if err != nil {
		return err
	}
	defer done()
	return removeAssets(env, store, addrs)
}
