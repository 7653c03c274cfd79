package report

import (
	"sort"
	"strings"

	"github.com/xpflow/xpflow/internal/state"
)

// The statuses a card shows. They refine the state's statuses: an intent
// with an error is skipped (the request was never answered), an intent
// without one is pending (its outcome is unknown).
const (
	statusCompleted = "completed"
	statusSubmitted = "submitted"
	statusPending   = "pending"
	statusSkipped   = "skipped"
	statusFailed    = "failed"
)

// statusOrder is the order statuses appear in the totals and filters.
func statusOrder() []string {
	return []string{statusCompleted, statusSubmitted, statusPending, statusSkipped, statusFailed}
}

// page is what the template renders.
type page struct {
	Title    string
	Serial   uint64
	Lineage  string
	Totals   totals
	Statuses []statusCount
	Groups   []group
}

// totals are the campaign's counts and money, also written as data
// attributes of #totals for scripts and tests.
type totals struct {
	Assets, Completed, Submitted, Pending, Skipped, Failed int
	CostCents                                              int
	Cost                                                   string
	HasBalance                                             bool
	BalanceCents                                           int
	Balance                                                string
	BalanceAt                                              string
}

type statusCount struct {
	Name  string
	Count int
}

// group is the instances of one block (text.hook), in graph order.
type group struct {
	Name  string
	Kind  string
	Cards []*card
}

type card struct {
	ID, Address, Kind, Model, Status string
	CostCents                        int
	HasCost                          bool
	Cost                             string
	Prompt, System                   string
	Params                           []param
	Media                            []media
	Missing                          []string
	Content                          string
	Usage                            string
	Reason                           string
	Took                             string
	TaskID                           string
	Upstream, Downstream             []link
}

// param is one request parameter. When its value is the output URL of an
// asset in the state, LinkID and LinkAddress point at that asset's card.
type param struct{ Key, Value, LinkID, LinkAddress string }

// media is one output file: an image, a video or another file, by its
// path relative to the page.
type media struct {
	Type, Src, Name, Size string
}

// link points at another asset's card; Known is false when the asset is
// not in the state, so there is no card to jump to.
type link struct {
	ID, Address string
	Known       bool
}

func buildPage(st *state.State, title, baseDir, specDir string) (*page, error) {
	p := &page{Title: title, Serial: st.Serial, Lineage: st.Lineage}
	addrs := make([]string, 0, len(st.Assets))
	for addr := range st.Assets {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	ids := anchorIDs(addrs)
	down := downstream(st)
	byURL := outputURLs(st)
	cards := make(map[string]*card, len(addrs))
	for _, addr := range addrs {
		c, err := buildCard(st.Assets[addr], ids, down[addr], byURL, baseDir, specDir)
		if err != nil {
			return nil, err
		}
		cards[addr] = c
		p.Totals.add(c)
	}
	p.Totals.Cost = formatCents(p.Totals.CostCents)
	if st.Balance != nil {
		p.Totals.HasBalance = true
		p.Totals.BalanceCents = st.Balance.Cents
		p.Totals.Balance = formatCents(st.Balance.Cents)
		if !st.Balance.At.IsZero() {
			p.Totals.BalanceAt = st.Balance.At.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	p.Statuses = p.Totals.statusCounts()
	p.Groups = groupCards(st, addrs, cards)
	return p, nil
}

func (t *totals) add(c *card) {
	t.Assets++
	t.CostCents += c.CostCents
	switch c.Status {
	case statusCompleted:
		t.Completed++
	case statusSubmitted:
		t.Submitted++
	case statusPending:
		t.Pending++
	case statusSkipped:
		t.Skipped++
	case statusFailed:
		t.Failed++
	}
}

func (t *totals) statusCounts() []statusCount {
	n := map[string]int{statusCompleted: t.Completed, statusSubmitted: t.Submitted,
		statusPending: t.Pending, statusSkipped: t.Skipped, statusFailed: t.Failed}
	var out []statusCount
	for _, s := range statusOrder() {
		if n[s] > 0 {
			out = append(out, statusCount{Name: s, Count: n[s]})
		}
	}
	return out
}

// downstream maps each address to the assets that depend on it, sorted.
func downstream(st *state.State) map[string][]string {
	out := map[string][]string{}
	for addr, a := range st.Assets {
		for _, d := range a.DependsOn {
			out[d] = append(out[d], addr)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// outputURLs maps every recorded output URL to its asset's address.
func outputURLs(st *state.State) map[string]string {
	out := map[string]string{}
	for addr, a := range st.Assets {
		for _, o := range a.Outputs {
			if o.URL != "" {
				out[o.URL] = addr
			}
		}
	}
	return out
}

// groupCards puts cards into one group per block, ordered by the deepest
// of their instances in the dependency graph, then by name, so upstream
// blocks come first even when some instances recorded no dependencies.
func groupCards(st *state.State, addrs []string, cards map[string]*card) []group {
	depth := depths(st)
	byName := map[string]*group{}
	maxDepth := map[string]int{}
	var names []string
	for _, addr := range addrs {
		name := blockName(addr)
		g, ok := byName[name]
		if !ok {
			g = &group{Name: name, Kind: st.Assets[addr].Kind}
			byName[name] = g
			names = append(names, name)
			maxDepth[name] = depth[addr]
		}
		g.Cards = append(g.Cards, cards[addr])
		maxDepth[name] = max(maxDepth[name], depth[addr])
	}
	sort.SliceStable(names, func(i, j int) bool {
		if maxDepth[names[i]] != maxDepth[names[j]] {
			return maxDepth[names[i]] < maxDepth[names[j]]
		}
		return names[i] < names[j]
	})
	out := make([]group, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out
}

// depths returns each asset's longest chain of recorded upstream assets.
// A cycle (which a valid state never has) is cut where it is found.
func depths(st *state.State) map[string]int {
	memo := map[string]int{}
	visiting := map[string]bool{}
	var visit func(addr string) int
	visit = func(addr string) int {
		if d, ok := memo[addr]; ok {
			return d
		}
		a, ok := st.Assets[addr]
		if !ok || visiting[addr] {
			return -1
		}
		visiting[addr] = true
		d := 0
		for _, dep := range a.DependsOn {
			d = max(d, visit(dep)+1)
		}
		visiting[addr] = false
		memo[addr] = d
		return d
	}
	for addr := range st.Assets {
		visit(addr)
	}
	return memo
}

// blockName is the address without its instance key: text.hook for
// text.hook["aurora"].
func blockName(addr string) string {
	if i := strings.IndexByte(addr, '['); i >= 0 {
		return addr[:i]
	}
	return addr
}
