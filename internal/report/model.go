package report

import (
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/xpflow/xpflow/internal/state"
)

// The statuses a card shows. They refine the state's statuses: an intent
// with an error is skipped (the request was never answered), an intent
// without one is pending (its outcome is unknown). Assets of the spec with
// no record are planned (never generated), skipped (an upstream asset
// failed or was skipped) or error (the spec cannot evaluate them).
const (
	statusCompleted = "completed"
	statusSubmitted = "submitted"
	statusPending   = "pending"
	statusSkipped   = "skipped"
	statusFailed    = "failed"
	statusPlanned   = "planned"
	statusError     = "error"
)

// statusLabels are how statuses read on the page.
var statusLabels = map[string]string{statusCompleted: "completed", statusSubmitted: "generating",
	statusPending: "outcome unknown", statusPlanned: "not generated", statusSkipped: "skipped",
	statusFailed: "failed", statusError: "spec error"}

// statusOrder is the order statuses appear in the totals and filters.
func statusOrder() []string {
	return []string{statusCompleted, statusSubmitted, statusPending, statusPlanned, statusSkipped, statusFailed, statusError}
}

// page is what the template renders; Data is also embedded as JSON for
// the page's script, which renders the cards.
type page struct {
	Title    string
	Data     *pageData
	Statuses []statusCount
	// JSON is Data encoded for the page's script; HeadJSON is Data with
	// the first page of cards only.
	JSON, HeadJSON template.JS
	// CSS and Script are the page's own style and script.
	CSS    template.CSS
	Script template.JS
	// TotalsAttrs are the totals as data attributes of #totals, for
	// scripts and tests: data-assets="9" data-completed="9" ...
	TotalsAttrs template.HTMLAttr
}

// pageData is the whole campaign as the page's script reads it.
type pageData struct {
	Title   string      `json:"title"`
	Serial  uint64      `json:"serial"`
	Lineage string      `json:"lineage"`
	HasPlan bool        `json:"has_plan"`
	Notes   []string    `json:"notes,omitempty"`
	Totals  totals      `json:"totals"`
	Models  []modelCost `json:"models"`
	Cards   []*card     `json:"cards"`
	// Count is the number of cards of the campaign (Cards may hold only
	// the first page); PageSize how many the page shows at a time.
	Count    int `json:"count"`
	PageSize int `json:"page_size"`
	// Labels are how statuses read on the page.
	Labels map[string]string `json:"labels"`
}

// totals are the campaign's counts and money.
type totals struct {
	Assets   int            `json:"assets"`
	Statuses map[string]int `json:"statuses"`
	// ActualCents is what the API charged, earlier takes included.
	ActualCents int `json:"actual_cents"`
	// EstimatedCents is the estimated price of one generation of every
	// asset of the spec; Unpriced counts those with no known price.
	EstimatedCents int `json:"estimated_cents"`
	Unpriced       int `json:"unpriced"`
	// ToSpendCents is what the next apply is estimated to spend;
	// ToSpendUnpriced counts its generations with no known price.
	ToSpendCents    int            `json:"to_spend_cents"`
	ToSpendUnpriced int            `json:"to_spend_unpriced"`
	ToGenerate      int            `json:"to_generate"`
	BalanceCents    *int           `json:"balance_cents,omitempty"`
	BalanceAt       string         `json:"balance_at,omitempty"`
	Files           map[string]int `json:"files"`
}

// modelCost is one model's line in the cost bars.
type modelCost struct {
	Model           string `json:"model"`
	Assets          int    `json:"assets"`
	ActualCents     int    `json:"actual_cents"`
	EstimatedCents  int    `json:"estimated_cents"`
	Unpriced        int    `json:"unpriced"`
	ToSpendCents    int    `json:"to_spend_cents"`
	ToSpendUnpriced int    `json:"to_spend_unpriced"`
}

type statusCount struct {
	Name  string
	Count int
}

// card is one asset instance.
type card struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Block   string `json:"block"`
	Kind    string `json:"kind"`
	Model   string `json:"model,omitempty"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	// Next is what the next apply does with the asset, when it does
	// anything: "replace: the request changed (prompt: ...)".
	Next string `json:"next,omitempty"`
	// EstimatedCents is the estimated price of one generation;
	// PriceSource is "catalog" or "observed".
	EstimatedCents *int   `json:"estimated_cents,omitempty"`
	PriceSource    string `json:"price_source,omitempty"`
	// ActualCents is what the current take cost; TakesCents what the
	// earlier takes cost.
	ActualCents *int    `json:"actual_cents,omitempty"`
	TakesCents  int     `json:"takes_cents,omitempty"`
	Prompt      string  `json:"prompt,omitempty"`
	System      string  `json:"system,omitempty"`
	Params      []param `json:"params,omitempty"`
	Files       []file  `json:"files,omitempty"`
	Content     string  `json:"content,omitempty"`
	Usage       string  `json:"usage,omitempty"`
	Took        string  `json:"took,omitempty"`
	TaskID      string  `json:"task_id,omitempty"`
	Uses        []link  `json:"uses,omitempty"`
	UsedBy      []link  `json:"used_by,omitempty"`
	Takes       []take  `json:"takes,omitempty"`
}

// param is one request parameter. When its value is the output URL of
// another asset, Link is that asset's card id.
type param struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Link        string `json:"link,omitempty"`
	LinkAddress string `json:"link_address,omitempty"`
}

// file is one recorded output. Src, the path relative to the page, is set
// only when the file on disk matches the record (Check "ok"): a changed,
// missing or unverifiable file is never linked.
type file struct {
	URL   string `json:"url,omitempty"`
	Path  string `json:"path,omitempty"`
	Src   string `json:"src,omitempty"`
	Name  string `json:"name,omitempty"`
	Type  string `json:"type"`
	Size  string `json:"size,omitempty"`
	Check string `json:"check"`
	Why   string `json:"why,omitempty"`
}

// take is an earlier generation of the asset.
type take struct {
	N         int    `json:"n"`
	Prompt    string `json:"prompt,omitempty"`
	Files     []file `json:"files,omitempty"`
	Content   string `json:"content,omitempty"`
	CostCents *int   `json:"cost_cents,omitempty"`
	TaskID    string `json:"task_id,omitempty"`
	At        string `json:"at,omitempty"`
}

// link points at another asset's card; ID is empty when that asset has
// no card.
type link struct {
	ID      string `json:"id,omitempty"`
	Address string `json:"address"`
}

// fileNotDownloaded marks an output whose URL is recorded but whose file
// was never downloaded.
const fileNotDownloaded = "not-downloaded"

func (t *totals) add(c *card, p *Planned) {
	t.Assets++
	t.Statuses[c.Status]++
	if c.ActualCents != nil {
		t.ActualCents += *c.ActualCents
	}
	t.ActualCents += c.TakesCents
	for _, f := range c.Files {
		t.Files[f.Check]++
	}
	for _, tk := range c.Takes {
		for _, f := range tk.Files {
			t.Files[f.Check]++
		}
	}
	if p == nil {
		return
	}
	if p.Priced {
		t.EstimatedCents += p.EstimatedCents
	} else {
		t.Unpriced++
	}
	if p.spends() {
		t.ToGenerate++
		if p.Priced {
			t.ToSpendCents += p.EstimatedCents
		} else {
			t.ToSpendUnpriced++
		}
	}
}

// attrs writes the totals as data attributes. Names come from fixed sets
// (statuses, file checks) and values are numbers, so nothing needs
// escaping.
func (t *totals) attrs(hasPlan bool) template.HTMLAttr {
	var b strings.Builder
	attr := func(name string, v int) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "data-%s=\"%d\"", name, v)
	}
	attr("assets", t.Assets)
	for _, s := range t.statusCounts() {
		attr(s.Name, s.Count)
	}
	attr("actual-cents", t.ActualCents)
	if hasPlan {
		attr("estimated-cents", t.EstimatedCents)
		attr("unpriced", t.Unpriced)
		attr("to-spend-cents", t.ToSpendCents)
		attr("to-spend-unpriced", t.ToSpendUnpriced)
	}
	if t.BalanceCents != nil {
		attr("balance-cents", *t.BalanceCents)
	}
	for _, k := range sortedKeys(t.Files) {
		attr("files-"+k, t.Files[k])
	}
	return template.HTMLAttr(b.String())
}

func (t *totals) statusCounts() []statusCount {
	var out []statusCount
	for _, s := range statusOrder() {
		if t.Statuses[s] > 0 {
			out = append(out, statusCount{Name: s, Count: t.Statuses[s]})
		}
	}
	return out
}

// modelCosts sums cost per model, in order of what was spent, then of
// the estimate, then by name.
func modelCosts(cards []*card, plan map[string]*Planned) []modelCost {
	by := map[string]*modelCost{}
	for _, c := range cards {
		name := c.Model
		if name == "" {
			name = "(no model)"
		}
		m := by[name]
		if m == nil {
			m = &modelCost{Model: name}
			by[name] = m
		}
		m.Assets++
		if c.ActualCents != nil {
			m.ActualCents += *c.ActualCents
		}
		m.ActualCents += c.TakesCents
		p := plan[c.Address]
		if p == nil {
			continue
		}
		if p.Priced {
			m.EstimatedCents += p.EstimatedCents
		} else {
			m.Unpriced++
		}
		if p.spends() {
			if p.Priced {
				m.ToSpendCents += p.EstimatedCents
			} else {
				m.ToSpendUnpriced++
			}
		}
	}
	out := make([]modelCost, 0, len(by))
	for _, m := range by {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ActualCents != b.ActualCents {
			return a.ActualCents > b.ActualCents
		}
		if a.EstimatedCents != b.EstimatedCents {
			return a.EstimatedCents > b.EstimatedCents
		}
		return a.Model < b.Model
	})
	return out
}

// downstream maps each address to the assets that depend on it, sorted.
func downstream(deps map[string][]string) map[string][]string {
	out := map[string][]string{}
	for addr, ds := range deps {
		for _, d := range ds {
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

// depths returns each address's longest chain of upstream assets. A
// cycle (which a valid campaign never has) is cut where it is found.
func depths(deps map[string][]string) map[string]int {
	memo := map[string]int{}
	visiting := map[string]bool{}
	var visit func(addr string) int
	visit = func(addr string) int {
		if d, ok := memo[addr]; ok {
			return d
		}
		ds, ok := deps[addr]
		if !ok || visiting[addr] {
			return -1
		}
		visiting[addr] = true
		d := 0
		for _, dep := range ds {
			d = max(d, visit(dep)+1)
		}
		visiting[addr] = false
		memo[addr] = d
		return d
	}
	for addr := range deps {
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
