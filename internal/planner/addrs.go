package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
)

// checkAddrs reports every -target or -replace address that names no asset
// of the plan, with the closest address there is. A typo must fail, not
// silently plan something other than what was asked.
func (p *Plan) checkAddrs(flag string, given []string) hcl.Diagnostics {
	if len(given) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, n := range p.Nodes {
		known[n.Addr] = true
		if i := strings.IndexByte(n.Addr, '['); i > 0 {
			known[n.Addr[:i]] = true
		}
	}
	cands := make([]string, 0, len(known))
	for a := range known {
		cands = append(cands, a)
	}
	sort.Strings(cands)
	var diags hcl.Diagnostics
	for _, a := range given {
		if known[a] {
			continue
		}
		detail := fmt.Sprintf("%s %s names no asset of this spec.", flag, a)
		if s := closestAddr(a, cands); s != "" {
			detail += fmt.Sprintf(" Did you mean %s %s?", flag, s)
		} else if len(cands) > 0 {
			detail += " Run 'xpflow plan' to list the addresses."
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: fmt.Sprintf("No asset matches %s %s", flag, a), Detail: detail})
	}
	return diags
}

// closestAddr is the candidate nearest to given, or "" when none is near
// enough to be what was meant. Quotes are ignored, so video.spot[a] finds
// video.spot["a"].
func closestAddr(given string, cands []string) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, `"`, "")) }
	best, bestD := "", len(norm(given))/2+2
	for _, c := range cands {
		if d := levenshtein.Distance(norm(given), norm(c), nil); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
