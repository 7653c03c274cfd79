package report

import (
	"sort"

	"github.com/xpflow/xpflow/internal/state"
)

// builder turns the state and the plan into the page's data.
type builder struct {
	st      *state.State
	plan    map[string]*Planned
	order   map[string]int // plan position of each planned address
	ids     map[string]string
	byURL   map[string]string
	baseDir string
	specDir string
	cards   map[string]*card
}

// buildPage makes one card per asset of the spec and per record of the
// state, in display order: blocks upstream first, then the plan's order
// within a block, then records the spec no longer has.
func buildPage(st *state.State, plan []Planned, title, baseDir, specDir string) (*pageData, error) {
	b := &builder{st: st, plan: map[string]*Planned{}, order: map[string]int{},
		byURL: outputURLs(st), baseDir: baseDir, specDir: specDir, cards: map[string]*card{}}
	deps := map[string][]string{}
	for i := range plan {
		p := &plan[i]
		b.plan[p.Address] = p
		b.order[p.Address] = i
		deps[p.Address] = p.Deps
	}
	for addr, a := range st.Assets {
		if _, ok := deps[addr]; !ok {
			deps[addr] = a.DependsOn
		}
	}
	addrs := sortedKeys(deps)
	b.ids = anchorIDs(addrs)
	depth := depths(deps)
	// Build upstream first: an unrecorded asset's status depends on its
	// upstream cards.
	byDepth := append([]string(nil), addrs...)
	sort.SliceStable(byDepth, func(i, j int) bool { return depth[byDepth[i]] < depth[byDepth[j]] })
	for _, addr := range byDepth {
		c, err := b.card(addr)
		if err != nil {
			return nil, err
		}
		b.cards[addr] = c
	}
	down := downstream(deps)
	for _, addr := range addrs {
		c := b.cards[addr]
		for _, d := range deps[addr] {
			c.Uses = append(c.Uses, link{ID: b.idOf(d), Address: d})
		}
		for _, d := range down[addr] {
			c.UsedBy = append(c.UsedBy, link{ID: b.idOf(d), Address: d})
		}
	}
	d := &pageData{Title: title, Serial: st.Serial, Lineage: st.Lineage, HasPlan: len(plan) > 0,
		Totals: totals{Statuses: map[string]int{}, Files: map[string]int{}}}
	d.Cards = b.ordered(addrs, depth)
	for _, c := range d.Cards {
		d.Totals.add(c, b.plan[c.Address])
	}
	d.Models = modelCosts(d.Cards, b.plan)
	if st.Balance != nil {
		n := st.Balance.Cents
		d.Totals.BalanceCents = &n
		if !st.Balance.At.IsZero() {
			d.Totals.BalanceAt = st.Balance.At.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	return d, nil
}

// idOf is the card id of addr, or "" when it has no card.
func (b *builder) idOf(addr string) string {
	if _, ok := b.cards[addr]; !ok {
		return ""
	}
	return b.ids[addr]
}

func (b *builder) card(addr string) (*card, error) {
	c := &card{ID: b.ids[addr], Address: addr, Block: blockName(addr)}
	a := b.st.Assets[addr]
	if a != nil {
		if err := b.fromRecord(c, a); err != nil {
			return nil, err
		}
	}
	p := b.plan[addr]
	switch {
	case p != nil:
		b.fromPlan(c, p, a != nil)
	case len(b.plan) > 0 && (a.Status == state.StatusIntent || a.Status == state.StatusSubmitted):
		c.Next = "kept: no longer in the spec, but it may be paid for; put it back in the spec to finish it, or drop it with xpflow state rm"
	case len(b.plan) > 0:
		c.Next = "forget: no longer in the spec, so the next apply drops this record (its files stay on disk)"
	}
	return c, nil
}

// ordered sorts cards into blocks, blocks by their deepest instance then
// by name, and instances by plan order then by address.
func (b *builder) ordered(addrs []string, depth map[string]int) []*card {
	blockDepth := map[string]int{}
	for _, addr := range addrs {
		bl := blockName(addr)
		blockDepth[bl] = max(blockDepth[bl], depth[addr])
	}
	out := make([]*card, 0, len(addrs))
	for _, addr := range addrs {
		out = append(out, b.cards[addr])
	}
	pos := func(addr string) int {
		if i, ok := b.order[addr]; ok {
			return i
		}
		return len(b.order)
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Block != y.Block {
			if blockDepth[x.Block] != blockDepth[y.Block] {
				return blockDepth[x.Block] < blockDepth[y.Block]
			}
			return x.Block < y.Block
		}
		if px, py := pos(x.Address), pos(y.Address); px != py {
			return px < py
		}
		return x.Address < y.Address
	})
	return out
}

// takes adds the earlier takes of the asset to its card, oldest first,
// each file checked like the current take's, and sums what they cost.
func (b *builder) takes(c *card, a *state.Asset) error {
	for i, t := range a.Takes {
		files, err := b.files(a.Address, a.Kind, t.Outputs)
		if err != nil {
			return err
		}
		tk := take{N: i + 1, Files: files, Content: t.Content, TaskID: t.TaskID}
		if p, ok := t.Request["prompt"]; ok {
			tk.Prompt = paramValue(p)
		}
		if t.CostCents != nil {
			n := *t.CostCents
			tk.CostCents = &n
			c.TakesCents += n
		}
		if !t.CompletedAt.IsZero() {
			tk.At = t.CompletedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		c.Takes = append(c.Takes, tk)
	}
	return nil
}
