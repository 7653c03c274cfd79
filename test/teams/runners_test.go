package teams

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/state"
)

// journalBy summarises the campaign's journal: events per runner, and the
// takeovers.
func journalBy(t *testing.T, s *pgstore.Store) (perRunner map[string]int, takeovers []pgstore.Entry) {
	t.Helper()
	j, err := s.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perRunner = map[string]int{}
	for _, e := range j {
		switch e.Event {
		case "intent":
			perRunner[e.Runner]++
		case "takeover":
			takeovers = append(takeovers, e)
		}
	}
	return perRunner, takeovers
}

// TestThreeRunnersOneCampaign: three apply processes on three machines
// (directories) apply one 45-asset campaign (text -> image -> video) at
// once. Every asset is generated exactly once by the simulator's log, the
// work is shared, dependencies cross runners, every output is recorded
// with its sha256, and every machine ends with every file.
//
// Left to chance, a runner usually goes on with the chain whose text it
// just generated (it learns first that the text is done), and runs where
// no chain crossed runners happen. So runner r1 writes the copy only
// (-target text.hook) and starts first; once it has generated a text, r2
// and r3 apply the whole campaign beside it. Every text r1 generates feeds
// an image r2 or r3 submits: at least one dependency crosses runners, by
// construction. Afterwards r1 applies the whole campaign on its machine,
// which generates nothing and downloads every file it lacks.
func TestThreeRunnersOneCampaign(t *testing.T) {
	run := startSim(t)
	tm := newTeam(t, 15)
	// A lease shorter than the videos' latency: runners must renew theirs,
	// or live tasks would be taken over.
	env := []string{"XPFLOW_CLAIM_LEASE=1500ms"}
	dirs := []string{tm.machine(), tm.machine(), tm.machine()}
	copywriter := tm.start("r1", run.URL, apiKey, env, "apply", "-auto-approve", "-parallelism", "4", "-target", "text.hook", dirs[0])
	s := tm.store()
	deadline := time.Now().Add(30 * time.Second)
	for len(intentsBy(t, s, "r1")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("runner r1 generated no text within 30 s\nstderr:\n%s", copywriter.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	procs := []*proc{copywriter}
	for i := 2; i <= 3; i++ {
		procs = append(procs, tm.start(fmt.Sprintf("r%d", i), run.URL, apiKey, env,
			"apply", "-auto-approve", "-parallelism", "4", dirs[i-1]))
	}
	for _, p := range procs {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Errorf("runner %s exited %d\nstdout:\n%s\nstderr:\n%s", p.name, code, p.stdout, p.stderr)
		}
	}
	notText := func(a string) bool { return !strings.HasPrefix(a, "text.hook[") }
	if copied := intentsBy(t, s, "r1"); len(copied) == 0 || len(filter(copied, notText)) > 0 {
		t.Errorf("runner r1 (-target text.hook) generated %v, want texts only, at least one", copied)
	}
	again := tm.start("r1", run.URL, apiKey, env, "apply", "-auto-approve", dirs[0])
	if code := again.wait(t, time.Minute); code != 0 {
		t.Errorf("r1's apply of the whole campaign exited %d\nstdout:\n%s\nstderr:\n%s", code, again.stdout, again.stderr)
	}
	got := charged(run.Server.Log())
	want := map[string]int{}
	for _, a := range tm.addrs() {
		want[a] = 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("generates charged per asset (-want +got):\n%s", diff)
	}
	st, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var notDone []string
	for _, a := range tm.addrs() {
		if r := st.Assets[a]; r == nil || r.Status != state.StatusCompleted {
			notDone = append(notDone, a)
		}
	}
	if len(notDone) > 0 {
		t.Errorf("not completed in the campaign: %v", notDone)
	}
	for _, dir := range dirs {
		if n := checkFiles(t, st, dir); n != 2*tm.n {
			t.Errorf("%s holds %d of the %d output files", dir, n, 2*tm.n)
		}
	}
	// Dependencies crossed runners: some asset was submitted by another
	// runner than the one that generated its input, and its request carries
	// that input as the other runner recorded it.
	j, err := s.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]string{}
	for _, e := range j {
		if e.Event == "intent" {
			by[e.Address] = e.Runner
		}
	}
	crossed := 0
	for i := 1; i <= tm.n; i++ {
		p := fmt.Sprintf(`["p%02d"]`, i)
		ta, ia, va := "text.hook"+p, "image.hero"+p, "video.spot"+p
		txt, img, vid := st.Assets[ta], st.Assets[ia], st.Assets[va]
		if txt == nil || img == nil || vid == nil {
			continue // reported above as not completed
		}
		if by[ia] != by[ta] {
			crossed++
			if prompt := fmt.Sprint(img.Request["prompt"]); txt.Content == "" || !strings.Contains(prompt, txt.Content) {
				t.Errorf("%s (by %s) has prompt %q, want it to carry the text %q of %s (by %s)",
					ia, by[ia], prompt, txt.Content, ta, by[ta])
			}
		}
		if by[va] != by[ia] {
			crossed++
			if len(img.Outputs) == 0 || fmt.Sprint(vid.Request["image_url"]) != img.Outputs[0].URL {
				t.Errorf("%s (by %s) has image_url %v, want the image %v of %s (by %s)",
					va, by[va], vid.Request["image_url"], img.Outputs, ia, by[ia])
			}
		}
	}
	t.Logf("%d of %d dependencies crossed runners", crossed, 2*tm.n)
	if crossed == 0 {
		t.Errorf("no dependency crossed runners (intents by runner: %v)", by)
	}
	per, takeovers := journalBy(t, s)
	if len(takeovers) > 0 {
		t.Errorf("claims were taken over though no runner died (leases not renewed?): %+v", takeovers)
	}
	t.Logf("intents per runner: %v", per)
	if len(per) < 2 {
		t.Errorf("one runner did all the work: %v", per)
	}
}

// intentsBy returns the addresses whose intent runner wrote, sorted.
func intentsBy(t *testing.T, s *pgstore.Store, runner string) []string {
	t.Helper()
	j, err := s.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range j {
		if e.Event == "intent" && e.Runner == runner {
			out = append(out, e.Address)
		}
	}
	sort.Strings(out)
	return out
}

func filter(xs []string, keep func(string) bool) []string {
	var out []string
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// TestDependencyAcrossRunners: an image generated by runner A feeds the
// video runner B submits. A applies only the image (and its text); B and
// C, started later on other machines, submit the video from A's recorded
// image URL without generating the image again.
func TestDependencyAcrossRunners(t *testing.T) {
	run := startSim(t)
	tm := newTeam(t, 2)
	a := tm.start("A", run.URL, apiKey, nil, "apply", "-auto-approve", "-target", `image.hero["p01"]`, tm.machine())
	if code := a.wait(t, time.Minute); code != 0 {
		t.Fatalf("runner A exited %d:\n%s", code, a.stderr)
	}
	b := tm.start("B", run.URL, apiKey, nil, "apply", "-auto-approve", tm.machine())
	c := tm.start("C", run.URL, apiKey, nil, "apply", "-auto-approve", tm.machine())
	for _, p := range []*proc{b, c} {
		if code := p.wait(t, time.Minute); code != 0 {
			t.Errorf("runner %s exited %d:\n%s", p.name, code, p.stderr)
		}
	}
	s := tm.store()
	st, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Journal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]string{}
	for _, e := range j {
		if e.Event == "intent" {
			by[e.Address] = e.Runner
		}
	}
	img, vid := st.Assets[`image.hero["p01"]`], st.Assets[`video.spot["p01"]`]
	if by[`image.hero["p01"]`] != "A" || (by[`video.spot["p01"]`] != "B" && by[`video.spot["p01"]`] != "C") {
		t.Fatalf("intents by runner %v: want the image by A and the video by B or C", by)
	}
	if img == nil || vid == nil || len(img.Outputs) == 0 || fmt.Sprint(vid.Request["image_url"]) != img.Outputs[0].URL {
		t.Errorf("the video's image_url is %v, want A's image %v", vid, img)
	}
	if got := charged(run.Server.Log()); got[`image.hero["p01"]`] != 1 || got[`text.hook["p01"]`] != 1 {
		t.Errorf("paid per asset %v: want A's text and image paid once", got)
	}
}
