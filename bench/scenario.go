package bench

import (
	"fmt"
	"strings"
)

// Block is one asset block of a benchmark campaign: N instances keyed
// k000, k001, ... When Upstream names another block, instance k of this
// block reads instance k of that one (a text's content as the prompt, an
// image's url as the first frame), so the two blocks need the same N.
type Block struct {
	Kind     string // "text", "image" or "video"
	Name     string
	N        int
	Model    string
	Duration int    // video only; 0 leaves the API default
	Upstream string // "kind.name" or ""
}

// Addr is the block address, e.g. video.clip.
func (b Block) Addr() string { return b.Kind + "." + b.Name }

// Scenario is a campaign of blocks.
type Scenario struct {
	Name   string
	Blocks []Block
}

// key is the for_each key of instance i.
func key(i int) string { return fmt.Sprintf("k%03d", i) }

// instanceAddr is the address of instance i of b.
func instanceAddr(b Block, i int) string { return fmt.Sprintf("%s[%q]", b.Addr(), key(i)) }

// Assets returns the number of asset instances.
func (s Scenario) Assets() int {
	n := 0
	for _, b := range s.Blocks {
		n += b.N
	}
	return n
}

// HCL renders the scenario as a campaign file.
func (s Scenario) HCL() string {
	var w strings.Builder
	w.WriteString("xpflow {\n  output_dir = \"out\"\n}\n")
	for _, b := range s.Blocks {
		fmt.Fprintf(&w, "\n%s %q {\n  for_each = toset([", b.Kind, b.Name)
		for i := 0; i < b.N; i++ {
			if i > 0 {
				w.WriteString(", ")
			}
			fmt.Fprintf(&w, "%q", key(i))
		}
		fmt.Fprintf(&w, "])\n  model    = %q\n", b.Model)
		up := strings.SplitN(b.Upstream, ".", 2)
		switch {
		case b.Upstream == "":
			fmt.Fprintf(&w, "  prompt   = \"%s ${each.key}\"\n", b.Name)
		case up[0] == "text":
			fmt.Fprintf(&w, "  prompt   = \"${%s[each.key].content} (%s)\"\n", b.Upstream, b.Name)
		default:
			fmt.Fprintf(&w, "  prompt    = \"%s ${each.key}\"\n  image_url = %s[each.key].url\n", b.Name, b.Upstream)
		}
		if b.Kind == "text" {
			w.WriteString("  max_tokens = 40\n")
		}
		if b.Duration > 0 {
			fmt.Fprintf(&w, "  duration = %d\n", b.Duration)
		}
		w.WriteString("}\n")
	}
	return w.String()
}

// videos is a campaign of n text-to-video clips.
func videos(n int) Scenario {
	return Scenario{Name: fmt.Sprintf("%d video", n), Blocks: []Block{
		{Kind: "video", Name: "clip", N: n, Model: "seedance-2.0/text-to-video", Duration: 8},
	}}
}

// chain is text -> async image -> image-to-video for n products.
func chainBlocks(n int) []Block {
	return []Block{
		{Kind: "text", Name: "hook", N: n, Model: "openai/gpt-4o"},
		{Kind: "image", Name: "hero", N: n, Model: "flux/pro-async", Upstream: "text.hook"},
		{Kind: "video", Name: "spot", N: n, Model: "seedance-2.0/image-to-video", Duration: 8, Upstream: "image.hero"},
	}
}

// Scenarios returns the benchmark campaigns: 1, 12 and 100 videos, a
// 3-product text -> image -> video chain, and a mixed 60-asset campaign
// (10 chains, 20 Wan clips, 10 sync images; 40 of the 60 are async).
func Scenarios() []Scenario {
	mixed := append(chainBlocks(10),
		Block{Kind: "video", Name: "teaser", N: 20, Model: "wan-2.6/text-to-video", Duration: 5},
		Block{Kind: "image", Name: "still", N: 10, Model: "bytedance/seedream-4.5"})
	return []Scenario{
		videos(1), videos(12), videos(100),
		{Name: "chain 3", Blocks: chainBlocks(3)},
		{Name: "mixed 60", Blocks: mixed},
	}
}
