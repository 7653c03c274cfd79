package executor

import (
	"fmt"

	"github.com/xpflow/xpflow/internal/state"
)

// record is the one function through which apply writes the state: it
// stores a copy of asset rec (when not nil) and applies extra (when not
// nil) in one durable record, whose cost does not grow with the state. The
// State extra gets holds only rec's record and those of the addresses in
// also (the ones extra may change or remove), with the model statistics and
// the balance.
func (a *applier) record(rec *state.Asset, extra func(st *state.State), also ...string) error {
	var cp *state.Asset
	addrs := also
	if rec != nil {
		cp = rec.Clone()
		addrs = append([]string{cp.Address}, also...)
	}
	err := a.opts.Store.Edit(addrs, func(st *state.State) error {
		if cp != nil {
			if st.Assets == nil {
				st.Assets = map[string]*state.Asset{}
			}
			cp.Takes = keepTakes(a.dl.specDir, st.Assets[cp.Address], cp)
			st.Assets[cp.Address] = cp
		}
		if extra != nil {
			extra(st)
		}
		return nil
	})
	if err != nil {
		what := "the state"
		if rec != nil {
			what = rec.Address
		} else if len(also) == 1 {
			what = also[0]
		}
		return fmt.Errorf("record %s in state: %w", what, err)
	}
	return nil
}
