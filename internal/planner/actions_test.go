package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/xpflow/xpflow/internal/spec"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/xpilot"
)

const chainSpec = `
text "hook" {
  for_each = toset(["a", "b"])
  prompt   = "hook for ${each.key}"
}
image "hero" {
  for_each = toset(["a", "b"])
  model    = "bytedance/seedream-4.5"
  prompt   = text.hook[each.key].content
}
video "spot" {
  for_each  = toset(["a", "b"])
  model     = "seedance-2.0/image-to-video"
  prompt    = "push in on ${each.key}"
  image_url = image.hero[each.key].url
  duration  = 4
}
`

func writeSpec(t *testing.T, dir, src string) *spec.Spec {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.xp.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, diags := spec.Load(dir, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	return sp
}

// completeAll plays the part of apply without the API: it plans, records
// every startable node as completed with a file on disk, and repeats until
// nothing is left to do.
func completeAll(t *testing.T, sp *spec.Spec, cat *xpilot.Catalog, st *state.State) {
	t.Helper()
	for round := 0; round < 10; round++ {
		p, diags := Build(sp, Options{Catalog: cat, State: st})
		if diags.HasErrors() {
			t.Fatalf("plan: %s", diags.Error())
		}
		if !p.HasChanges() {
			return
		}
		for _, n := range p.Nodes {
			if n.Action == ActionNoop || !allKnown(n.Params) {
				continue
			}
			st.Assets[n.Addr] = fakeCompleted(t, sp.Dir, n)
		}
	}
	t.Fatal("campaign did not converge")
}

// completedChain writes chainSpec and plays it into a state where every
// asset is completed.
func completedChain(t *testing.T) (*xpilot.Catalog, string, *spec.Spec, *state.State) {
	t.Helper()
	cat := simCatalog(t)
	dir := t.TempDir()
	sp := writeSpec(t, dir, chainSpec)
	st := state.New()
	completeAll(t, sp, cat, st)
	return cat, dir, sp, st
}

func fakeCompleted(t *testing.T, dir string, n *Node) *state.Asset {
	t.Helper()
	req, err := RequestFromParams(n.Kind, n.Params)
	if err != nil {
		t.Fatal(err)
	}
	cost := 5
	a := &state.Asset{Address: n.Addr, Kind: string(n.Kind), Model: req.Model(), RequestHash: req.Hash(),
		Request: req.Normalized(), Status: state.StatusCompleted, TaskID: "t-" + n.Addr, CostCents: &cost}
	if n.Kind == spec.KindText {
		a.Content = "content of " + n.Addr
		return a
	}
	name := strings.NewReplacer("[", "_", "]", "", `"`, "").Replace(n.Addr) + ".bin"
	body := []byte("bytes of " + n.Addr)
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	a.Outputs = []state.Output{{URL: "https://cdn.example/" + name, File: name, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(body))}}
	return a
}

func actions(p *Plan) map[string]Action {
	out := map[string]Action{}
	for _, n := range p.Nodes {
		if !n.Excluded {
			out[n.Addr] = n.Action
		}
	}
	for _, a := range p.Forget {
		out[a] = ActionForget
	}
	return out
}

func TestActionsFromState(t *testing.T) {
	cat := simCatalog(t)
	allNoop := map[string]Action{
		`text.hook["a"]`: ActionNoop, `text.hook["b"]`: ActionNoop,
		`image.hero["a"]`: ActionNoop, `image.hero["b"]`: ActionNoop,
		`video.spot["a"]`: ActionNoop, `video.spot["b"]`: ActionNoop,
	}
	with := func(changes map[string]Action) map[string]Action {
		out := map[string]Action{}
		for k, v := range allNoop {
			out[k] = v
		}
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	tests := map[string]struct {
		spec    string // replaces chainSpec when set
		mutate  func(dir string, st *state.State)
		replace []string
		want    map[string]Action
	}{
		"nothing changed": {want: allNoop},
		"changed upstream prompt propagates": {
			spec: strings.Replace(chainSpec, `"hook for ${each.key}"`, `each.key == "a" ? "new hook" : "hook for ${each.key}"`, 1),
			want: with(map[string]Action{`text.hook["a"]`: ActionReplace, `image.hero["a"]`: ActionReplace, `video.spot["a"]`: ActionReplace}),
		},
		"missing file downloads": {
			mutate: func(dir string, st *state.State) {
				os.Remove(filepath.Join(dir, st.Assets[`video.spot["b"]`].Outputs[0].File))
			},
			want: with(map[string]Action{`video.spot["b"]`: ActionDownload}),
		},
		"changed file downloads": {
			mutate: func(dir string, st *state.State) {
				os.WriteFile(filepath.Join(dir, st.Assets[`image.hero["a"]`].Outputs[0].File), []byte("tampered"), 0o644)
			},
			want: with(map[string]Action{`image.hero["a"]`: ActionDownload}),
		},
		"submitted resumes": {
			mutate: func(_ string, st *state.State) {
				a := st.Assets[`video.spot["a"]`]
				a.Status, a.PollURL = state.StatusSubmitted, "/api/v1/video/t?provider=seedance"
			},
			want: with(map[string]Action{`video.spot["a"]`: ActionResume}),
		},
		"failed retries": {
			mutate: func(_ string, st *state.State) { st.Assets[`video.spot["a"]`].Status = state.StatusFailed },
			want:   with(map[string]Action{`video.spot["a"]`: ActionRetry}),
		},
		"intent is unknown and never resubmitted": {
			mutate: func(_ string, st *state.State) { st.Assets[`video.spot["a"]`].Status = state.StatusIntent },
			want:   with(map[string]Action{`video.spot["a"]`: ActionUnknown}),
		},
		"replace forces an unknown outcome to resubmit": {
			mutate:  func(_ string, st *state.State) { st.Assets[`video.spot["a"]`].Status = state.StatusIntent },
			replace: []string{`video.spot["a"]`},
			want:    with(map[string]Action{`video.spot["a"]`: ActionReplace}),
		},
		"replace of a whole asset": {
			replace: []string{"text.hook"},
			want: map[string]Action{
				`text.hook["a"]`: ActionReplace, `text.hook["b"]`: ActionReplace,
				`image.hero["a"]`: ActionReplace, `image.hero["b"]`: ActionReplace,
				`video.spot["a"]`: ActionReplace, `video.spot["b"]`: ActionReplace,
			},
		},
		"removed from spec is forgotten": {
			mutate: func(_ string, st *state.State) {
				st.Assets[`video.old`] = &state.Asset{Address: "video.old", Kind: "video", Status: state.StatusCompleted}
			},
			want: with(map[string]Action{"video.old": ActionForget}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sp := writeSpec(t, dir, chainSpec)
			st := state.New()
			completeAll(t, sp, cat, st)
			if tc.spec != "" {
				sp = writeSpec(t, dir, tc.spec)
			}
			if tc.mutate != nil {
				tc.mutate(dir, st)
			}
			p, diags := Build(sp, Options{Catalog: cat, State: st, Replace: tc.replace})
			if diags.HasErrors() {
				t.Fatalf("plan: %s", diags.Error())
			}
			if diff := cmp.Diff(tc.want, actions(p)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplaceShowsWhatChanged(t *testing.T) {
	cat, dir, sp, st := completedChain(t)
	sp = writeSpec(t, dir, strings.Replace(chainSpec, `"push in on ${each.key}"`, `"pull out from ${each.key}"`, 1))
	p, _ := Build(sp, Options{Catalog: cat, State: st})
	n, _ := p.Node(`video.spot["a"]`)
	want := []Change{{Param: "prompt", Old: `"push in on a"`, New: `"pull out from a"`}}
	if diff := cmp.Diff(want, n.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	img, _ := p.Node(`image.hero["a"]`)
	if img.Action != ActionNoop {
		t.Errorf("image.hero[a] = %s, want noop: only the video prompt changed", img.Action)
	}
}

func TestTargetsKeepDependencies(t *testing.T) {
	cat := simCatalog(t)
	sp := writeSpec(t, t.TempDir(), chainSpec)
	p, diags := Build(sp, Options{Catalog: cat, Targets: []string{`video.spot["a"]`}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := map[string]Action{`text.hook["a"]`: ActionCreate, `image.hero["a"]`: ActionCreate, `video.spot["a"]`: ActionCreate}
	if diff := cmp.Diff(want, actions(p)); diff != "" {
		t.Errorf("targeted actions (-want +got):\n%s", diff)
	}
	if p.EstimatedCents != 240 {
		t.Errorf("estimate = %d, want 240 (one 4 s video at 300/5s)", p.EstimatedCents)
	}
}

func TestCosts(t *testing.T) {
	per5 := func(c int) *int { return &c }
	cat := &xpilot.Catalog{
		Video: []xpilot.Model{{ID: "v/odd", Type: "video", Durations: []int{4, 7}, CostCentsPer5s: per5(333)},
			{ID: "v/free-looking", Type: "video", Durations: []int{5}}},
		Image: []xpilot.Model{{ID: "i/one", Type: "image"}},
		Text:  []xpilot.Model{{ID: "openai/gpt-4o", Type: "text"}},
	}
	observed := state.New()
	observed.Models = map[string]*state.ModelStats{"i/one": {Prices: map[string]*state.Price{"": {Cents: 7, Count: 1}}}}
	tests := map[string]struct {
		src                string
		st                 *state.State
		wantCents, wantUnp int
		wantObserved       bool
	}{
		"video rounds up":            {src: `video "v" {` + "\n" + `model = "v/odd"` + "\n" + `prompt = "x"` + "\n" + `duration = 4` + "\n}", wantCents: 267},
		"video 7s":                   {src: `video "v" {` + "\n" + `model = "v/odd"` + "\n" + `prompt = "x"` + "\n" + `duration = 7` + "\n}", wantCents: 467},
		"unlisted price is not free": {src: `video "v" {` + "\n" + `model = "v/free-looking"` + "\n" + `prompt = "x"` + "\n}", wantUnp: 1},
		"image unpriced":             {src: `image "i" {` + "\n" + `model = "i/one"` + "\n" + `prompt = "x"` + "\n}", wantUnp: 1},
		"image observed":             {src: `image "i" {` + "\n" + `model = "i/one"` + "\n" + `prompt = "x"` + "\n}", st: observed, wantCents: 7, wantObserved: true},
		"text default model":         {src: `text "t" {` + "\n" + `prompt = "x"` + "\n}", wantUnp: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sp := writeSpec(t, t.TempDir(), tc.src)
			p, diags := Build(sp, Options{Catalog: cat, State: tc.st})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if p.EstimatedCents != tc.wantCents || p.Unpriced != tc.wantUnp {
				t.Errorf("estimate = %d cents + %d unpriced, want %d + %d", p.EstimatedCents, p.Unpriced, tc.wantCents, tc.wantUnp)
			}
			if got := p.Nodes[0].Cost.Observed; got != tc.wantObserved {
				t.Errorf("observed = %v, want %v", got, tc.wantObserved)
			}
		})
	}
}

func TestHashIgnoresExplicitDefaults(t *testing.T) {
	cat := simCatalog(t)
	a := writeSpec(t, t.TempDir(), `video "v" {`+"\n"+`model = "wan-2.6/text-to-video"`+"\n"+`prompt = "x"`+"\n}")
	b := writeSpec(t, t.TempDir(), `video "v" {`+"\n"+`model = "wan-2.6/text-to-video"`+"\n"+`prompt = "x"`+"\n"+`duration = 5`+"\n"+`aspect_ratio = "16:9"`+"\n}")
	pa, _ := Build(a, Options{Catalog: cat})
	pb, _ := Build(b, Options{Catalog: cat})
	ra, _ := RequestFromParams(spec.KindVideo, pa.Nodes[0].Params)
	rb, _ := RequestFromParams(spec.KindVideo, pb.Nodes[0].Params)
	if ra.Hash() != rb.Hash() {
		t.Error("an explicit API default changed the request hash")
	}
	rb.Video.Prompt = "y"
	if ra.Hash() == rb.Hash() {
		t.Error("a different prompt kept the same hash")
	}
}

func TestUpstreamReplaceShowsOnlyRealChanges(t *testing.T) {
	cat, _, sp, st := completedChain(t)
	p, _ := Build(sp, Options{Catalog: cat, State: st, Replace: []string{`image.hero["a"]`}})
	n, _ := p.Node(`video.spot["a"]`)
	want := []Change{{Param: "image_url", Old: `"https://cdn.example/image.hero_a.bin"`, New: unknownMarker}}
	if diff := cmp.Diff(want, n.Changes); diff != "" {
		t.Errorf("changes of a downstream replace (-want +got):\n%s", diff)
	}
}

func TestSubmittedWithoutPollURLIsUnknown(t *testing.T) {
	cat, _, sp, st := completedChain(t)
	a := st.Assets[`image.hero["a"]`]
	a.Status, a.PollURL, a.Outputs = state.StatusSubmitted, "", nil
	p, _ := Build(sp, Options{Catalog: cat, State: st})
	n, _ := p.Node(`image.hero["a"]`)
	if n.Action != ActionUnknown || !strings.Contains(n.Reason, "-replace") {
		t.Errorf("submitted without poll_url: action %s (%s), want unknown pointing at -replace", n.Action, n.Reason)
	}
}

func TestPaidWorkInFlightIsNeverDropped(t *testing.T) {
	cat, dir, sp, st := completedChain(t)
	spot := st.Assets[`video.spot["a"]`]
	spot.Status, spot.PollURL = state.StatusSubmitted, "/api/v1/video/t?provider=seedance"
	st.Assets["video.gone"] = &state.Asset{Address: "video.gone", Kind: "video", Status: state.StatusIntent}
	st.Assets["video.done"] = &state.Asset{Address: "video.done", Kind: "video", Status: state.StatusCompleted}

	// The prompt of the generating video changes, and two assets leave the spec.
	sp = writeSpec(t, dir, strings.Replace(chainSpec, `"push in on ${each.key}"`, `"pull out from ${each.key}"`, 1))
	p, diags := Build(sp, Options{Catalog: cat, State: st})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	n, _ := p.Node(`video.spot["a"]`)
	if n.Action != ActionResume || !strings.Contains(n.Reason, "request has changed") {
		t.Errorf("a paid video whose prompt changed: %s (%s), want resume saying the request changed", n.Action, n.Reason)
	}
	if diff := cmp.Diff([]string{"video.done"}, p.Forget); diff != "" {
		t.Errorf("forget (-want +got): only the completed record may go:\n%s", diff)
	}
	var warned bool
	for _, d := range diags {
		warned = warned || (d.Severity == hcl.DiagWarning && strings.Contains(d.Summary, "video.gone"))
	}
	if !warned {
		t.Errorf("want a warning that video.gone is kept, got %v", diags)
	}
}
