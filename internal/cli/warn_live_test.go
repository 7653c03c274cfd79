package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

func TestApplyWarnsAboveLastKnownBalance(t *testing.T) {
	dir := quickDir(t)
	if r := (invocation{args: []string{"apply", "-simulate", "-auto-approve", dir}}).run(t); r.code != 0 {
		t.Fatalf("first apply: exit %d\n%s", r.code, r.stderr)
	}
	path := filepath.Join(dir, "xpflow.simulate.state.json")
	store, err := state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(func(st *state.State) error {
		st.Balance = &state.Balance{Cents: 3, At: time.Now()}
		return nil
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Observed prices now price the text and image models, so replacing
	// everything is estimated at 12 cents, above the 3 cents left.
	r := invocation{args: []string{"apply", "-simulate", "-auto-approve", "-replace", "text.line", dir}}.run(t)
	if !strings.Contains(r.stderr, "Warning: the estimate ($0.12) is above the last known balance ($0.03") {
		t.Errorf("want a balance warning on stderr, got exit %d:\n%s", r.code, r.stderr)
	}
}
