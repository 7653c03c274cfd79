package executor_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/sim"
)

// TestCreditsRunOutThenTopUp runs a campaign on a key that can pay for two
// of four videos, then tops the key up and applies again.
func TestCreditsRunOutThenTopUp(t *testing.T) {
	// Per product: text 1 + image 5 + a 4 s Seedance video 240 cents. 520
	// pays for every text and image and two videos in any order, never three.
	keys := []string{"aurora", "borealis", "cirrus", "draco"}
	h := newHarness(t, setup{credits: 520})
	h.write(t, campaign(keys, nil))
	everything := campaignAddrs(keys...)

	m := h.mark()
	sum, p := h.apply(t, run{})
	log1 := h.since(m)
	if sum.OK() {
		t.Fatalf("first apply: OK() got true, want false")
	}
	if sum.CreditsShort == nil {
		t.Fatalf("first apply: CreditsShort got nil, want a shortfall")
	}
	videos := 0
	for _, a := range sum.Assets {
		if strings.HasPrefix(a.Addr, "video.") && a.Outcome == executor.OutcomeDone {
			videos++
		}
	}
	if videos != 2 {
		t.Errorf("first apply: %d videos done, want 2: %v", videos, outcomes(sum))
	}
	// What the rest needs: the estimates of every asset not submitted.
	var need int
	var rest []string
	for _, a := range sum.Assets {
		if a.Outcome == executor.OutcomeDone {
			continue
		}
		rest = append(rest, a.Addr)
		if !strings.Contains(a.Message, "insufficient credits") {
			t.Errorf("%s: message got %q, want it to say insufficient credits", a.Addr, a.Message)
		}
		n, _ := p.Node(a.Addr)
		need += n.Cost.Cents
	}
	left := h.sim.Server.Credits(testKey)
	want := &executor.Shortfall{NeededCents: need, AvailableCents: &left}
	if diff := cmp.Diff(want, sum.CreditsShort); diff != "" {
		t.Errorf("first apply CreditsShort (-want +got):\n%s", diff)
	}
	if got := count(log1, func(r sim.Request) bool { return r.Status == 402 }); got < 1 {
		t.Errorf("first apply: got %d answers 402, want at least 1", got)
	}
	charged1 := h.sim.Server.Counters().ChargedCents
	if got := 520 - left; got != charged1 {
		t.Errorf("first apply: balance dropped by %d, sim charged %d", got, charged1)
	}

	h.sim.Server.SetCredits(testKey, 10000)
	m = h.mark()
	sum, p = h.apply(t, run{})
	log2 := h.since(m)
	if !sum.OK() {
		t.Fatalf("second apply: OK() got false, want true; failed %v; outcomes %v", sum.Failed(), outcomes(sum))
	}
	for _, addr := range rest {
		n, _ := p.Node(addr)
		if !n.Action.Spends() {
			t.Errorf("second plan: %s action got %s, want a generate", addr, n.Action)
		}
	}
	// Across both runs every asset was charged exactly once.
	paid := generates(t, append(log1, log2...), 200)
	if len(paid) != len(everything) {
		t.Errorf("paid generates cover %d prompts, want %d: %v", len(paid), len(everything), paid)
	}
	for prompt, n := range paid {
		if n != 1 {
			t.Errorf("prompt %q paid %d times, want once", prompt, n)
		}
	}
	if got, want := h.sim.Server.Counters().ChargedCents, len(keys)*(1+5+240); got != want {
		t.Errorf("sim charged %d cents in all, want %d", got, want)
	}
	checkCompleted(t, h, h.snapshot(t), everything)
}

// TestCreditsShortCountsDependents runs out of credits on an image whose
// video then cannot start: the shortfall must count both.
func TestCreditsShortCountsDependents(t *testing.T) {
	h := newHarness(t, setup{credits: 3}) // the text (1) fits, the image (5) does not
	h.write(t, campaign(products[:1], nil))
	sum, p := h.apply(t, run{})
	want := map[string]executor.Outcome{`text.hook["aurora"]`: executor.OutcomeDone,
		`image.hero["aurora"]`: executor.OutcomeFailed, `video.spot["aurora"]`: executor.OutcomeSkipped}
	if diff := cmp.Diff(want, outcomes(sum)); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	img, _ := p.Node(`image.hero["aurora"]`)
	vid, _ := p.Node(`video.spot["aurora"]`)
	left := 2
	wantShort := &executor.Shortfall{AvailableCents: &left}
	for _, n := range []*planner.Node{img, vid} {
		if n.Cost.Priced {
			wantShort.NeededCents += n.Cost.Cents
		} else {
			wantShort.UnpricedAssets++ // image prices are not in the catalog
		}
	}
	if !vid.Cost.Priced {
		t.Fatalf("the video is unpriced; the test needs a priced one")
	}
	if diff := cmp.Diff(wantShort, sum.CreditsShort); diff != "" {
		t.Errorf("CreditsShort (-want +got):\n%s", diff)
	}
	for _, a := range sum.Assets[1:] {
		if !strings.Contains(a.Message, "insufficient credits") {
			t.Errorf("%s: message got %q, want it to say insufficient credits", a.Addr, a.Message)
		}
	}
}
