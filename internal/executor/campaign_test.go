package executor_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
)

// products are the for_each keys of the test campaign.
var products = []string{"aurora", "borealis", "cirrus"}

// campaign is a text -> image -> video for_each campaign over keys; the
// video prompt of key k is "Slow push-in on <k><suffix[k]>".
func campaign(keys []string, suffix map[string]string) string {
	var prods, moods strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&prods, "    %s = %q\n", k, strings.ToUpper(k[:1])+k[1:]+" headphones")
		fmt.Fprintf(&moods, "    %s = %q\n", k, suffix[k])
	}
	return fmt.Sprintf(`xpflow { output_dir = "out" }

variable "products" {
  type    = map(string)
  default = {
%s  }
}

variable "moods" {
  type    = map(string)
  default = {
%s  }
}

text "hook" {
  for_each   = var.products
  model      = "openai/gpt-4o"
  prompt     = "One line for ${each.value}"
  max_tokens = 40
}

image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} (${each.key})"
  aspect_ratio = "16:9"
}

video "spot" {
  for_each  = var.products
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in on ${each.key}${var.moods[each.key]}"
  image_url = image.hero[each.key].url
  duration  = 4
}
`, prods.String(), moods.String())
}

// addrs returns the instance addresses of block for keys.
func addrs(block string, keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s[%q]", block, k)
	}
	return out
}

// campaignAddrs returns every instance address of the campaign.
func campaignAddrs(keys ...string) []string {
	var out []string
	for _, b := range []string{"text.hook", "image.hero", "video.spot"} {
		out = append(out, addrs(b, keys...)...)
	}
	return out
}

// checkCompleted checks that every asset of addrs is completed in st with
// a task id (text aside), and that every output is on disk with the
// digest of what the CDN serves.
func checkCompleted(t *testing.T, h *harness, st *state.State, addrs []string) {
	t.Helper()
	for _, addr := range addrs {
		a := st.Assets[addr]
		if a == nil {
			t.Errorf("%s: no state record", addr)
			continue
		}
		if a.Status != state.StatusCompleted {
			t.Errorf("%s: status got %q, want completed (error %q)", addr, a.Status, a.Error)
		}
		if a.Kind == "text" {
			if a.Content == "" {
				t.Errorf("%s: no content recorded", addr)
			}
			continue
		}
		if a.TaskID == "" {
			t.Errorf("%s: no task id recorded", addr)
		}
		if len(a.Outputs) != 1 {
			t.Errorf("%s: got %d outputs, want 1", addr, len(a.Outputs))
			continue
		}
		o := a.Outputs[0]
		got := fileSHA256(t, filepath.Join(h.dir, filepath.FromSlash(o.File)))
		if want := urlSHA256(t, o.URL); got != want {
			t.Errorf("%s: file %s sha256 got %s, want %s (the CDN's)", addr, o.File, got, want)
		}
		if got != o.SHA256 {
			t.Errorf("%s: file sha256 got %s, state records %s", addr, got, o.SHA256)
		}
	}
}

func TestCampaignApplyChangeAndNoop(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, campaign(products, nil))
	all3 := campaignAddrs(products...)

	m := h.mark()
	sum, _ := h.apply(t, run{})
	log := h.since(m)
	if diff := cmp.Diff(all(executor.OutcomeDone, all3...), outcomes(sum)); diff != "" {
		t.Fatalf("first apply outcomes (-want +got):\n%s", diff)
	}
	if !sum.OK() {
		t.Errorf("first apply: OK() got false, want true; failed %v", sum.Failed())
	}
	gens := generates(t, log, 0)
	if len(gens) != len(all3) {
		t.Errorf("first apply: got generates for %d prompts, want %d: %v", len(gens), len(all3), gens)
	}
	for p, n := range gens {
		if n != 1 {
			t.Errorf("first apply: prompt %q generated %d times, want 1", p, n)
		}
	}
	pollGaps(t, log)
	st := h.snapshot(t)
	checkCompleted(t, h, st, all3)
	var paid int
	for _, a := range st.Assets {
		paid += *a.CostCents
	}
	if got, want := h.sim.Server.Counters().ChargedCents, paid; got != want {
		t.Errorf("sim charged %d cents, state records %d", got, want)
	}
	if got, want := sum.ActualCents, paid; got != want {
		t.Errorf("summary ActualCents got %d, want %d", got, want)
	}

	// One video prompt changes: exactly that video is generated again.
	h.write(t, campaign(products, map[string]string{"borealis": ", at dusk"}))
	m = h.mark()
	sum, p := h.apply(t, run{})
	log = h.since(m)
	changed := addrs("video.spot", "borealis")[0]
	wantActions := merge(all(planner.ActionNoop, all3...), all(planner.ActionReplace, changed))
	if diff := cmp.Diff(wantActions, actions(p)); diff != "" {
		t.Errorf("second plan actions (-want +got):\n%s", diff)
	}
	wantOutcomes := merge(all(executor.OutcomeUnchanged, all3...), all(executor.OutcomeDone, changed))
	if diff := cmp.Diff(wantOutcomes, outcomes(sum)); diff != "" {
		t.Errorf("second apply outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"Slow push-in on borealis, at dusk": 1}, generates(t, log, 0)); diff != "" {
		t.Errorf("second apply generates (-want +got):\n%s", diff)
	}
	pollGaps(t, log)
	checkCompleted(t, h, h.snapshot(t), all3)

	// Nothing changed: no generate, at most the catalog request.
	m = h.mark()
	sum, p = h.apply(t, run{})
	log = h.since(m)
	if p.HasChanges() {
		t.Errorf("third plan: HasChanges got true, want false: %v", actions(p))
	}
	if diff := cmp.Diff(all(executor.OutcomeUnchanged, all3...), outcomes(sum)); diff != "" {
		t.Errorf("third apply outcomes (-want +got):\n%s", diff)
	}
	var eps []string
	for _, r := range log {
		eps = append(eps, r.Endpoint)
	}
	sort.Strings(eps)
	if diff := cmp.Diff([]string{"models"}, eps); diff != "" {
		t.Errorf("third apply requests (-want +got):\n%s", diff)
	}
}
