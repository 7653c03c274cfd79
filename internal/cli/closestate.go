package cli

import (
	"fmt"

	"github.com/xpflow/xpflow/internal/state"
)

// closeState closes the store apply wrote, whose last act is folding the
// journal into the state, and reports a failure of it: as the command's
// error when the run itself succeeded, else on stderr beside the run's own
// error. The state is not at risk (the journal keeps every change and the
// next command replays it), but the state file is behind until then.
func closeState(env *Env, runErr error, store *state.Store) error {
	cerr := store.Close()
	switch {
	case cerr == nil:
		return runErr
	case runErr == nil:
		return &ExitErr{Code: ExitError, Err: cerr}
	}
	fmt.Fprintf(env.Stderr, "Error: %v\n", cerr)
	return runErr
}
