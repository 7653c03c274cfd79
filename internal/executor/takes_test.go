package executor_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/executor"
	"github.com/xpflow/xpflow/internal/state"
)

const heroSpec = `
image "hero" {
  model  = "bytedance/seedream-4.5"
  prompt = "Hero shot"
}

text "hook" {
  model  = "openai/gpt-4o"
  prompt = "A hook"
}
`

// TestReplaceKeepsEveryPaidTake: -replace used to overwrite the previous
// take's file in place. Each paid take must stay recorded with a file
// that still holds its bytes, under its content-addressed name, while the
// stable name holds the current take.
func TestReplaceKeepsEveryPaidTake(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, heroSpec)
	h.apply(t, run{})
	first := h.snapshot(t).Assets["image.hero"]
	firstText := h.snapshot(t).Assets["text.hook"]
	h.apply(t, run{replace: []string{"image.hero", "text.hook"}})
	h.apply(t, run{replace: []string{"image.hero"}})

	st := h.snapshot(t)
	hero := st.Assets["image.hero"]
	if hero == nil || hero.Status != state.StatusCompleted || len(hero.Takes) != 2 {
		t.Fatalf("image.hero after two replaces: %+v, want completed with 2 earlier takes", hero)
	}
	if hero.Takes[0].TaskID != first.TaskID || hero.Takes[0].RequestHash != first.RequestHash || hero.Takes[0].CostCents == nil {
		t.Errorf("oldest take %+v, want the first generation (task %s) with its cost", hero.Takes[0], first.TaskID)
	}
	if hero.Takes[1].TaskID == first.TaskID || hero.Takes[1].TaskID == hero.TaskID {
		t.Errorf("second take is task %s, want the middle generation", hero.Takes[1].TaskID)
	}
	seen := map[string]bool{}
	for i, tk := range hero.Takes {
		o := tk.Outputs[0]
		if want := executor.ContentPath(first.Outputs[0].File, o.SHA256); i == 0 && filepath.ToSlash(want) != o.File {
			t.Errorf("take 1 file %s, want the content-addressed %s", o.File, want)
		}
		if got := fileSHA256(t, filepath.Join(h.dir, filepath.FromSlash(o.File))); got != o.SHA256 {
			t.Errorf("take %d: %s holds sha256 %s, want its recorded %s: a paid output was overwritten", i+1, o.File, got, o.SHA256)
		}
		seen[o.File] = true
	}
	cur := hero.Outputs[0]
	if cur.File != first.Outputs[0].File {
		t.Errorf("current take at %s, want the stable name %s", cur.File, first.Outputs[0].File)
	}
	if got := fileSHA256(t, filepath.Join(h.dir, filepath.FromSlash(cur.File))); got != cur.SHA256 {
		t.Errorf("the stable name holds sha256 %s, want the current take's %s", got, cur.SHA256)
	}
	if seen[cur.File] || len(seen) != 2 {
		t.Errorf("take files %v and current %s must be three distinct files", seen, cur.File)
	}

	hook := st.Assets["text.hook"]
	if len(hook.Takes) != 1 || hook.Takes[0].Content != firstText.Content || hook.Takes[0].Outputs != nil {
		t.Errorf("text.hook takes %+v, want the first answer %q kept", hook.Takes, firstText.Content)
	}
	// A plain apply afterwards has nothing to do: takes do not disturb the plan.
	if p := h.plan(t, run{}); p.HasChanges() {
		t.Errorf("plan after the replaces has changes: %v", actions(p))
	}
}

// TestReplaceThatCannotKeepThePaidTakeIsNotSent: when the previous take's
// file can get no content-addressed name (here a directory sits there, so
// both the hard link and the copy fail), pinTake used to leave the take at
// the stable name, which the new download then overwrote. The replace
// must stop before its request is sent, with the paid file untouched.
func TestReplaceThatCannotKeepThePaidTakeIsNotSent(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, heroSpec)
	h.apply(t, run{})
	first := h.snapshot(t).Assets["image.hero"].Outputs[0]
	ca := filepath.Join(h.dir, executor.ContentPath(filepath.FromSlash(first.File), first.SHA256))
	if err := os.MkdirAll(filepath.Join(ca, "occupied"), 0o755); err != nil {
		t.Fatal(err)
	}
	paid := h.sim.Server.Counters().Generates

	_, _, err := h.tryApply(t, run{replace: []string{"image.hero"}})
	if err == nil || !strings.Contains(err.Error(), "keeping the previous take of image.hero") {
		t.Fatalf("replace with the take's second name blocked: %v, want an error about keeping the previous take", err)
	}
	if n := h.sim.Server.Counters().Generates; n != paid {
		t.Errorf("the replace sent %d generate requests, want none before the paid take is kept", n-paid)
	}
	if got := fileSHA256(t, filepath.Join(h.dir, filepath.FromSlash(first.File))); got != first.SHA256 {
		t.Errorf("%s holds sha256 %s, want the paid take's %s", first.File, got, first.SHA256)
	}
	if rec := h.snapshot(t).Assets["image.hero"]; rec.Status != state.StatusCompleted || rec.Outputs[0].SHA256 != first.SHA256 {
		t.Errorf("image.hero after the refused replace: %+v, want the paid take still current", rec)
	}
}

// TestSecondLineageIsRefusedTheOutputDirectory: two states (here the
// default one and -state other.json) applying one spec wrote the same
// output files, each overwriting the other's paid outputs. The output
// directory now belongs to the first lineage; the second is refused
// before anything is paid.
func TestSecondLineageIsRefusedTheOutputDirectory(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, heroSpec)
	h.apply(t, run{})
	paid := h.sim.Server.Counters().Generates

	h.state = filepath.Join(h.dir, "other.state.json")
	_, _, err := h.tryApply(t, run{})
	var claimed *executor.OutputDirClaimedError
	if !errors.As(err, &claimed) {
		t.Fatalf("apply with a second state: %v, want *OutputDirClaimedError", err)
	}
	for _, want := range []string{filepath.Join(h.dir, "out"), "xpflow.state.json", "own output_dir", ".xpflow-lineage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if n := h.sim.Server.Counters().Generates; n != paid {
		t.Errorf("the refused apply sent %d generate requests, want none", n-paid)
	}
}

// TestOutputDirIsLockedWhileApplying: two applies of different states
// (a real and a -simulate run, in the issue) took different locks and
// could write one output directory at once.
func TestOutputDirIsLockedWhileApplying(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, heroSpec)
	holder, err := state.LockFile(filepath.Join(h.dir, "out", ".xpflow.lock"), "out")
	if err == nil {
		t.Fatal("locking an output directory that does not exist yet succeeded")
	}
	if err := os.MkdirAll(filepath.Join(h.dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	holder, err = state.LockFile(filepath.Join(h.dir, "out", ".xpflow.lock"), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	_, _, err = h.tryApply(t, run{})
	if err == nil || !strings.Contains(err.Error(), "is being written by another apply") {
		t.Fatalf("apply while the output directory is locked: %v, want a refusal", err)
	}
	if n := h.sim.Server.Counters().Generates; n != 0 {
		t.Errorf("%d generate requests sent, want none", n)
	}
}

// TestUnknownOutcomesNameWhatMayHaveBeenPaid: after a kill with requests
// on the wire, each intent without an answer may have been charged. The
// plan names each one, when it was sent and what it may have cost.
func TestUnknownOutcomesNameWhatMayHaveBeenPaid(t *testing.T) {
	h := newHarness(t, setup{})
	h.write(t, `
video "spot" {
  for_each = toset(["a", "b"])
  model    = "seedance-2.0/text-to-video"
  prompt   = "Spot ${each.key}"
  duration = 8
}
`)
	sent := epoch.Add(-time.Hour)
	h.editState(t, func(st *state.State) {
		for _, k := range []string{"a", "b"} {
			addr := `video.spot["` + k + `"]`
			st.Assets[addr] = &state.Asset{Address: addr, Kind: "video", Model: "seedance-2.0/text-to-video",
				RequestHash: "sha256:x", Status: state.StatusIntent, IntentAt: sent}
		}
	})
	p := h.plan(t, run{})
	got := p.MayBePaid()
	if len(got) != 2 || got[0].Addr != `video.spot["a"]` || !got[0].SentAt.Equal(sent) || !got[0].Cost.Priced || got[0].Cost.Cents <= 0 {
		t.Fatalf("MayBePaid() = %+v, want both intents, sent at %v, priced", got, sent)
	}
	cents, unpriced := p.MayBePaidCents()
	if cents != got[0].Cost.Cents+got[1].Cost.Cents || unpriced != 0 {
		t.Errorf("MayBePaidCents() = %d, %d; want %d, 0", cents, unpriced, got[0].Cost.Cents+got[1].Cost.Cents)
	}
	for _, n := range p.Nodes {
		price := fmt.Sprintf("$%d.%02d", n.Cost.Cents/100, n.Cost.Cents%100)
		for _, want := range []string{sent.Format(time.RFC3339), price, "-replace " + n.Addr} {
			if !strings.Contains(n.Reason, want) {
				t.Errorf("%s: reason %q does not say %q", n.Addr, n.Reason, want)
			}
		}
	}
	if sum, _ := h.apply(t, run{}); h.sim.Server.Counters().Generates != 0 || sum.Counts()[executor.OutcomeUnknown] != 2 {
		t.Errorf("apply resent an unknown request or lost it: counts %v, %d generates", sum.Counts(), h.sim.Server.Counters().Generates)
	}
}
