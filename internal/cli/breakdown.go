package cli

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
)

// costRow is one kind and model of the plan's cost breakdown.
type costRow struct {
	Kind  string `json:"kind"`
	Model string `json:"model"`
	// SpentCents is what the state records as paid for this campaign:
	// current records and earlier takes.
	SpentCents int `json:"spent_cents"`
	// ChangeCents is the priced part of what this plan would spend;
	// ChangeUnpriced counts the generations with no known price.
	ChangeCents    int `json:"change_cents"`
	ChangeUnpriced int `json:"change_unpriced"`
	// ChangeObserved is the part of ChangeCents priced from earlier runs'
	// charges rather than the catalog.
	ChangeObserved int `json:"change_observed_cents"`
	Generations    int `json:"generations"`
}

// costBreakdown groups what was spent and what the plan adds by kind and
// model, Infracost-style: before, change, after.
func costBreakdown(p *planner.Plan, st *state.State) []costRow {
	rows := map[[2]string]*costRow{}
	row := func(kind, model string) *costRow {
		k := [2]string{kind, model}
		if rows[k] == nil {
			rows[k] = &costRow{Kind: kind, Model: model}
		}
		return rows[k]
	}
	if st != nil {
		for _, a := range st.Assets {
			if a.CostCents != nil {
				row(a.Kind, a.Model).SpentCents += *a.CostCents
			}
			for _, t := range a.Takes {
				if t.CostCents == nil {
					continue
				}
				m, _ := t.Request["model"].(string)
				if m == "" {
					m = a.Model
				}
				row(a.Kind, m).SpentCents += *t.CostCents
			}
		}
	}
	for _, n := range p.Nodes {
		if n.Excluded || !n.Action.Spends() {
			continue
		}
		r := row(string(n.Kind), n.Model)
		r.Generations++
		switch {
		case !n.Cost.Priced:
			r.ChangeUnpriced++
		case n.Cost.Observed:
			r.ChangeCents += n.Cost.Cents
			r.ChangeObserved += n.Cost.Cents
		default:
			r.ChangeCents += n.Cost.Cents
		}
	}
	out := make([]costRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Model < out[j].Model
	})
	return out
}

// renderCostBreakdown prints the breakdown as a table with a total row.
func renderCostBreakdown(w io.Writer, rows []costRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nCost by kind and model (spent so far on this campaign, this plan, new total):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tMODEL\tSPENT\tCHANGE\tNEW TOTAL\tPRICE")
	var total costRow
	for _, r := range rows {
		writeCostRow(tw, r.Kind, r.Model, r)
		total.SpentCents += r.SpentCents
		total.ChangeCents += r.ChangeCents
		total.ChangeUnpriced += r.ChangeUnpriced
		total.ChangeObserved += r.ChangeObserved
		total.Generations += r.Generations
	}
	writeCostRow(tw, "total", "", total)
	_ = tw.Flush()
}

func writeCostRow(w io.Writer, kind, model string, r costRow) {
	change, after := "+"+formatCents(r.ChangeCents), formatCents(r.SpentCents+r.ChangeCents)
	switch {
	case r.Generations == 0:
		change = "-"
	case r.ChangeUnpriced == r.Generations:
		change, after = fmt.Sprintf("unknown (%d unpriced)", r.ChangeUnpriced), "at least "+formatCents(r.SpentCents)
		if r.SpentCents == 0 {
			after = "unknown"
		}
	case r.ChangeUnpriced > 0:
		change = fmt.Sprintf("+%s + %d unpriced", formatCents(r.ChangeCents), r.ChangeUnpriced)
		after = "at least " + after
	}
	source := "-"
	switch {
	case r.Generations == 0 || r.ChangeUnpriced == r.Generations:
	case r.ChangeObserved == r.ChangeCents:
		source = "observed"
	case r.ChangeObserved == 0:
		source = "catalog"
	default:
		source = "catalog + observed"
	}
	fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", kind, model, formatCents(r.SpentCents), change, after, source)
}
