package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fatih/color"
	"github.com/zclconf/go-cty/cty"

	"github.com/xpflow/xpflow/internal/planner"
)

// palette holds the colours of one output stream; every colour is off when
// the stream is not a terminal or NO_COLOR is set.
type palette struct {
	create, replace, warn, bad, dim, bold *color.Color
}

func newPalette(on bool) palette {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return palette{create: mk(color.FgGreen), replace: mk(color.FgYellow), warn: mk(color.FgYellow, color.Bold),
		bad: mk(color.FgRed, color.Bold), dim: mk(color.Faint), bold: mk(color.Bold)}
}

// actionOrder is how plan groups assets.
var actionOrder = []planner.Action{planner.ActionCreate, planner.ActionReplace, planner.ActionRetry,
	planner.ActionResume, planner.ActionDownload, planner.ActionUnknown, planner.ActionExpired}

func (pal palette) action(a planner.Action) (string, *color.Color) {
	switch a {
	case planner.ActionCreate:
		return "+", pal.create
	case planner.ActionReplace, planner.ActionRetry:
		return "~", pal.replace
	case planner.ActionUnknown, planner.ActionExpired:
		return "!", pal.bad
	case planner.ActionForget:
		return "-", pal.bad
	}
	return ">", pal.bold
}

// renderPlan prints the human plan: assets grouped by action with model,
// key parameters and estimated cost, then totals.
func renderPlan(w io.Writer, p *planner.Plan, colorOn bool) {
	pal := newPalette(colorOn)
	if !p.HasChanges() {
		fmt.Fprintf(w, "No changes. %s up to date.\n", plural(p.Counts()[planner.ActionNoop], "asset is", "assets are"))
		// Nothing to do, but a paid output that can no longer be had is
		// said every time, not only by the apply that found it.
		renderGroup(w, pal, p, planner.ActionExpired, nodeRows(p, planner.ActionExpired))
		return
	}
	fmt.Fprintln(w, "xpflow will perform these actions:")
	rows := nodeRows(p, actionOrder...)
	for _, act := range actionOrder {
		renderGroup(w, pal, p, act, rows)
	}
	if len(p.Forget) > 0 {
		fmt.Fprintf(w, "\n%s\n", pal.bold.Sprintf("forget (%d): no longer in the spec; the record is dropped, files stay", len(p.Forget)))
		for _, a := range p.Forget {
			sym, c := pal.action(planner.ActionForget)
			fmt.Fprintf(w, "  %s %s\n", c.Sprint(sym), a)
		}
	}
	renderCostBreakdown(w, costBreakdown(p, p.State))
	fmt.Fprintln(w)
	fmt.Fprintln(w, summaryLine(p))
	fmt.Fprintln(w, costLine(p))
}

// renderGroup prints the plan's nodes whose action is act, if any, each
// on its aligned row from rows.
func renderGroup(w io.Writer, pal palette, p *planner.Plan, act planner.Action, rows map[*planner.Node]string) {
	nodes := listed(p, act)
	if len(nodes) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", pal.bold.Sprintf("%s (%d):", act, len(nodes)))
	for _, n := range nodes {
		renderNode(w, pal, n, rows[n])
	}
}

// listed is the plan's nodes, not excluded by -target, whose action is one
// of acts, in plan order.
func listed(p *planner.Plan, acts ...planner.Action) []*planner.Node {
	var nodes []*planner.Node
	for _, n := range p.Nodes {
		if !n.Excluded && slices.Contains(acts, n.Action) {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// nodeRows aligns the columns of the rows of the plan's nodes listed under
// acts (address, model, key parameters) across every action group with
// text/tabwriter, on plain text: renderNode colours a row's address after
// the padding is set, so a row reads the same on a terminal and in a pipe.
// A column no row fills takes no room.
func nodeRows(p *planner.Plan, acts ...planner.Action) map[*planner.Node]string {
	nodes := listed(p, acts...)
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', tabwriter.DiscardEmptyColumns)
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\v\n", n.Addr, n.Model, keyParams(n))
	}
	_ = tw.Flush()
	lines := strings.Split(buf.String(), "\n")
	rows := make(map[*planner.Node]string, len(nodes))
	for i, n := range nodes {
		rows[n] = lines[i]
	}
	return rows
}

// renderNode prints a node's aligned row, its cost and what explains its
// action.
func renderNode(w io.Writer, pal palette, n *planner.Node, row string) {
	sym, c := pal.action(n.Action)
	cost := pal.dim.Sprint("no charge")
	if n.Action.Spends() {
		cost = formatCost(n.Cost)
	}
	fmt.Fprintf(w, "  %s %s%s%s\n", c.Sprint(sym), pal.bold.Sprint(n.Addr), row[len(n.Addr):], cost)
	if n.Reason != "" {
		fmt.Fprintf(w, "      %s\n", pal.dim.Sprint(n.Reason))
	}
	for _, ch := range n.Changes {
		fmt.Fprintf(w, "      %s: %s -> %s\n", ch.Param, ch.Old, ch.New)
	}
	if n.Action == planner.ActionCreate {
		if v, ok := n.Params["prompt"]; ok {
			fmt.Fprintf(w, "      prompt = %s\n", showValue(v, 70))
		}
	}
}

// keyParams names the parameters that matter most for the kind, e.g.
// "8s 16:9 audio" or "max_tokens=40".
func keyParams(n *planner.Node) string {
	var parts []string
	for _, name := range []string{"duration", "aspect_ratio", "mode", "max_tokens", "temperature"} {
		v, ok := n.Params[name]
		if !ok || v.IsNull() {
			continue
		}
		s := showValue(v, 20)
		switch {
		case !v.IsWhollyKnown():
			s = name + "=" + s
		case name == "duration":
			s += "s"
		case name == "aspect_ratio":
			s = v.AsString()
		default:
			s = name + "=" + strings.Trim(s, `"`)
		}
		parts = append(parts, s)
	}
	if v, ok := n.Params["generate_audio"]; ok && v.IsKnown() && !v.IsNull() && v.True() {
		parts = append(parts, "audio")
	}
	if v, ok := n.Params["lock_camera"]; ok && v.IsKnown() && !v.IsNull() && v.True() {
		parts = append(parts, "locked camera")
	}
	return strings.Join(parts, " ")
}

func showValue(v cty.Value, max int) string {
	if !v.IsWhollyKnown() {
		return "(known after apply)"
	}
	if v.IsNull() {
		return "null"
	}
	var s string
	switch {
	case v.Type() == cty.String:
		s = v.AsString()
		if len(s) > max {
			s = s[:max-3] + "..."
		}
		return fmt.Sprintf("%q", s)
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	}
	return v.Type().FriendlyName()
}

func formatCost(c planner.Cost) string {
	if !c.Priced {
		return "unpriced"
	}
	s := formatCents(c.Cents)
	if c.Observed {
		s += " (observed)"
	}
	return s
}

// formatCents writes cents as dollars and cents.
func formatCents(c int) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

func summaryLine(p *planner.Plan) string {
	counts := p.Counts()
	var parts []string
	for _, a := range append(append([]planner.Action{}, actionOrder...), planner.ActionForget, planner.ActionNoop) {
		switch {
		case counts[a] == 0:
		case a == planner.ActionNoop:
			parts = append(parts, fmt.Sprintf("%d unchanged", counts[a]))
		case a == planner.ActionExpired:
			parts = append(parts, fmt.Sprintf("%d paid but expired before download", counts[a]))
		case a == planner.ActionUnknown:
			part := fmt.Sprintf("%d with an unknown outcome", counts[a])
			if cents, unpriced := p.MayBePaidCents(); len(p.MayBePaid()) > 0 {
				part += fmt.Sprintf(" (may have been charged: up to %s", formatCents(cents))
				if unpriced > 0 {
					part += fmt.Sprintf(" + %d unpriced", unpriced)
				}
				part += ")"
			}
			parts = append(parts, part)
		default:
			parts = append(parts, fmt.Sprintf("%d to %s", counts[a], a))
		}
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

// costLine states the estimate without ever showing an unknown price as
// $0.00: a plan with unpriced assets costs "at least" the priced part, or
// "unknown" when nothing is priced, and prices observed in earlier runs are
// told apart from the catalog's.
func costLine(p *planner.Plan) string {
	catalog, observed := 0, 0
	for _, n := range p.Nodes {
		if n.Excluded || !n.Action.Spends() || !n.Cost.Priced {
			continue
		}
		if n.Cost.Observed {
			observed += n.Cost.Cents
		} else {
			catalog += n.Cost.Cents
		}
	}
	s := "Estimated cost: " + estimateText(p.EstimatedCents, p.Unpriced)
	if observed > 0 {
		s += fmt.Sprintf(" (%s observed in earlier runs, %s from the catalog)", formatCents(observed), formatCents(catalog))
	}
	if max := p.Spec.Settings.MaxCostCents; max != nil {
		s += fmt.Sprintf("; max_cost_cents allows %s", formatCents(*max))
	}
	return s + "."
}

// estimateText is "$14.40", "at least $14.40 (6 assets unpriced)" or
// "unknown (4 assets unpriced)".
func estimateText(cents, unpriced int) string {
	switch {
	case unpriced == 0:
		return formatCents(cents)
	case cents == 0:
		return fmt.Sprintf("unknown (%s)", plural(unpriced, "asset unpriced", "assets unpriced"))
	}
	return fmt.Sprintf("at least %s (%s)", formatCents(cents), plural(unpriced, "asset unpriced", "assets unpriced"))
}
