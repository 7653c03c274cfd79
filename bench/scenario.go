package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
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

// Latency is the range the simulator draws a task's latency from.
type Latency struct{ Lo, Hi time.Duration }

// Scenario is a campaign of blocks, with the simulator's latencies.
type Scenario struct {
	Name   string
	Blocks []Block
	// Video and Image are the latency ranges of async tasks; zero keeps
	// the long default: video 30-120 s, image 5-20 s.
	Video, Image Latency
	// Pair applies the campaign twice on one simulator and one key, the
	// second time with changed prompts and nothing in between: the second
	// run starts with the first run's requests still in the window.
	Pair bool
}

// Default latency ranges of the benchmark's simulators.
var (
	defaultVideo = Latency{30 * time.Second, 120 * time.Second}
	defaultImage = Latency{5 * time.Second, 20 * time.Second}
)

// latencies returns the scenario's video and image ranges.
func (s Scenario) latencies() (video, image Latency) {
	video, image = s.Video, s.Image
	if video == (Latency{}) {
		video = defaultVideo
	}
	if image == (Latency{}) {
		image = defaultImage
	}
	return video, image
}

// simOptions are the simulator options of the scenario's latencies.
func (s Scenario) simOptions() []sim.Option {
	v, i := s.latencies()
	return []sim.Option{sim.WithLatency("video", v.Lo, v.Hi), sim.WithLatency("image", i.Lo, i.Hi)}
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
func (s Scenario) HCL() string { return s.hcl("") }

// hcl renders the campaign with tag appended to every prompt written here,
// so that a different tag changes every asset.
func (s Scenario) hcl(tag string) string {
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
			fmt.Fprintf(&w, "  prompt   = \"%s ${each.key}%s\"\n", b.Name, tag)
		case up[0] == "text":
			fmt.Fprintf(&w, "  prompt   = \"${%s[each.key].content} (%s)%s\"\n", b.Upstream, b.Name, tag)
		default:
			fmt.Fprintf(&w, "  prompt    = \"%s ${each.key}%s\"\n  image_url = %s[each.key].url\n", b.Name, tag, b.Upstream)
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

// short is the latency regime where a batch fits in one or two windows.
var (
	shortVideo = Latency{15 * time.Second, 45 * time.Second}
	shortImage = Latency{3 * time.Second, 10 * time.Second}
	chainVideo = Latency{20 * time.Second, 40 * time.Second}
)

// asyncImages is a campaign of n images of a model that answers with a
// poll_url.
func asyncImages(n int) Scenario {
	return Scenario{Name: fmt.Sprintf("%d image", n), Blocks: []Block{
		{Kind: "image", Name: "still", N: n, Model: "flux/pro-async"},
	}}
}

// withLatency names sc after its latency range and sets it.
func withLatency(sc Scenario, video, image Latency, label string) Scenario {
	sc.Name += " " + label
	sc.Video, sc.Image = video, image
	return sc
}

// Scenarios returns the benchmark campaigns. The long regime (videos
// 30-120 s, images 5-20 s): 1, 12 and 100 videos, a 3-product text ->
// image -> video chain, and a mixed 60-asset campaign (10 chains, 20 Wan
// clips, 10 sync images; 40 of the 60 are async). The short regime, where
// latency is below the window and the batch fits in one or two windows:
// 6, 12 and 24 videos at 15-45 s, 40 async images at 3-10 s, the chain
// with 20-40 s videos, and 12 videos at 15-45 s applied twice back to back.
func Scenarios() []Scenario {
	mixed := append(chainBlocks(10),
		Block{Kind: "video", Name: "teaser", N: 20, Model: "wan-2.6/text-to-video", Duration: 5},
		Block{Kind: "image", Name: "still", N: 10, Model: "bytedance/seedream-4.5"})
	pair := withLatency(videos(12), shortVideo, Latency{}, "15-45s")
	pair.Name, pair.Pair = "pair "+pair.Name, true
	return []Scenario{
		videos(1), videos(12), videos(100),
		{Name: "chain 3", Blocks: chainBlocks(3)},
		{Name: "mixed 60", Blocks: mixed},
		withLatency(videos(6), shortVideo, Latency{}, "15-45s"),
		withLatency(videos(12), shortVideo, Latency{}, "15-45s"),
		withLatency(videos(24), shortVideo, Latency{}, "15-45s"),
		withLatency(asyncImages(40), Latency{}, shortImage, "3-10s"),
		withLatency(Scenario{Name: "chain 3", Blocks: chainBlocks(3)}, chainVideo, Latency{}, "20-40s"),
		pair,
	}
}

// Short reports whether the scenario is of the short-latency regime.
func (s Scenario) Short() bool { return s.Video != (Latency{}) || s.Image != (Latency{}) }
