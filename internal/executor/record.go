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
	return a.write(a.opts.Store.Edit, rec, extra, also...)
}

// recordIntent writes rec, the intent committed before a generate request.
// With other runners (Claims) the write is fenced: it is committed only
// while this runner still holds the asset's claim, and otherwise refused
// with an error wrapping state.ErrClaimLost, so the request is never sent
// for an asset another runner took over.
func (a *applier) recordIntent(rec *state.Asset) error {
	if a.opts.Claims == nil {
		return a.record(rec, nil)
	}
	return a.write(a.opts.Store.EditFenced, rec, nil)
}

func (a *applier) write(edit func([]string, func(*state.State) error) error, rec *state.Asset, extra func(st *state.State), also ...string) error {
	var cp *state.Asset
	addrs := also
	if rec != nil {
		cp = rec.Clone()
		addrs = append([]string{cp.Address}, also...)
	}
	err := edit(addrs, func(st *state.State) error {
		if cp != nil {
			if st.Assets == nil {
				st.Assets = map[string]*state.Asset{}
			}
			takes, err := keepTakes(a.dl.specDir, st.Assets[cp.Address], cp)
			if err != nil {
				return err
			}
			cp.Takes = takes
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
