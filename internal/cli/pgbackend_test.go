package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/state"
)

// pgPassword is added to every test connection string: the local test
// server trusts its socket and ignores it, and no output may show it.
const pgPassword = "pg-SECRET-hunter2"

// postgresSpec copies testdata/quick into a fresh directory with a backend
// "postgres" block for campaign, and returns the directory and the
// environment naming a fresh database.
func postgresSpec(t *testing.T, campaign string) (string, map[string]string) {
	t.Helper()
	conn := pgtest.Database(t) + " password=" + pgPassword
	dir := copyDir(t, "testdata/quick")
	p := filepath.Join(dir, "quick.xp.hcl")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	withBackend := strings.Replace(string(src), "xpflow {\n", "xpflow {\n  backend \"postgres\" {\n    campaign = \""+campaign+"\"\n  }\n", 1)
	if withBackend == string(src) {
		t.Fatal("testdata/quick has no xpflow block to add the backend to")
	}
	writeFile(t, dir, "quick.xp.hcl", withBackend)
	return dir, map[string]string{"XPFLOW_BACKEND_CONN": conn}
}

func noPassword(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stdout+r.stderr, pgPassword) {
		t.Errorf("output shows the database password:\n%s\n%s", r.stdout, r.stderr)
	}
}

// TestStatePushPullRoundTrip: a state made by a real apply, pushed into a
// campaign and pulled into another file, is the same file byte for byte;
// a push or pull onto newer data is refused without -force.
func TestStatePushPullRoundTrip(t *testing.T) {
	_, simEnv := startSim(t)
	dir, env := postgresSpec(t, "quick")
	ap := invocation{args: []string{"apply", "-auto-approve", "-state", filepath.Join(dir, "local.json"), dir}, env: simEnv}.run(t)
	if ap.code != 0 {
		t.Fatalf("apply: %d\n%s", ap.code, ap.stderr)
	}
	local := filepath.Join(dir, "local.json")
	orig, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	older := writeFile(t, dir, "older.json", string(orig))

	push := invocation{args: []string{"state", "push", "-state", local, dir}, env: env}.run(t)
	noPassword(t, push)
	if push.code != 0 || !strings.Contains(push.stdout, "Pushed 4 assets") {
		t.Fatalf("push: %d\n%s\n%s", push.code, push.stdout, push.stderr)
	}
	pulled := filepath.Join(dir, "pulled.json")
	pull := invocation{args: []string{"state", "pull", "-state", pulled, dir}, env: env}.run(t)
	noPassword(t, pull)
	if pull.code != 0 {
		t.Fatalf("pull: %d\n%s", pull.code, pull.stderr)
	}
	got, err := os.ReadFile(pulled)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(orig) {
		t.Errorf("pulled state differs from the pushed one:\n--- pushed\n%s\n--- pulled\n%s", orig, got)
	}

	// Make the campaign newer: one more change on the local file, pushed.
	store, err := state.Open(local)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(func(st *state.State) error { delete(st.Assets, `image.hero["aurora"]`); return nil }); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if r := (invocation{args: []string{"state", "push", "-state", local, dir}, env: env}).run(t); r.code != 0 {
		t.Fatalf("second push: %s", r.stderr)
	}
	refused := invocation{args: []string{"state", "push", "-state", older, dir}, env: env}.run(t)
	noPassword(t, refused)
	if refused.code == 0 || !strings.Contains(refused.stderr, "newer") || !strings.Contains(refused.stderr, "-force") {
		t.Errorf("push of an older state: code %d, stderr %q; want a refusal naming newer data and -force", refused.code, refused.stderr)
	}
	// The refused push changed nothing: a pull still gets the newer state.
	if r := (invocation{args: []string{"state", "pull", "-force", "-state", pulled, dir}, env: env}).run(t); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if st, err := state.Load(pulled); err != nil || len(st.Assets) != 3 {
		t.Errorf("after a refused push the campaign holds %v (%v), want the newer 3 assets", st, err)
	}
	// A pull onto an older local file is allowed; onto a newer one, refused.
	if r := (invocation{args: []string{"state", "pull", "-state", older, dir}, env: env}).run(t); r.code != 0 {
		t.Errorf("pulling over an older local file: %s", r.stderr)
	}
	store, err = state.Open(local)
	if err != nil {
		t.Fatal(err)
	}
	_ = store.Update(func(st *state.State) error { return nil })
	store.Close()
	r := invocation{args: []string{"state", "pull", "-state", local, dir}, env: env}.run(t)
	if r.code == 0 || !strings.Contains(r.stderr, "newer") {
		t.Errorf("pull over a newer local file: code %d, stderr %q; want a refusal", r.code, r.stderr)
	}
	// -force overwrites the newer campaign with the first state.
	first := writeFile(t, dir, "first.json", string(orig))
	if r := (invocation{args: []string{"state", "push", "-force", "-state", first, dir}, env: env}).run(t); r.code != 0 {
		t.Fatalf("push -force: %s", r.stderr)
	}
	if r := (invocation{args: []string{"state", "pull", "-force", "-state", pulled, dir}, env: env}).run(t); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if got, _ := os.ReadFile(pulled); string(got) != string(orig) {
		t.Errorf("after push -force of the older state the campaign holds:\n%s\nwant:\n%s", got, orig)
	}
}

func TestStatePushNeedsBackendAndConn(t *testing.T) {
	dir := copyDir(t, "testdata/quick")
	r := invocation{args: []string{"state", "push", dir}, env: map[string]string{}}.run(t)
	if r.code == 0 || !strings.Contains(r.stderr, `no backend "postgres" block`) {
		t.Errorf("push without a backend: code %d, stderr %q", r.code, r.stderr)
	}
	dir, _ = postgresSpec(t, "c")
	r = invocation{args: []string{"state", "push", dir}, env: map[string]string{}}.run(t)
	if r.code == 0 || !strings.Contains(r.stderr, "XPFLOW_BACKEND_CONN") {
		t.Errorf("push without a connection string: code %d, stderr %q", r.code, r.stderr)
	}
}

// TestApplyOnPostgres: apply writes the spec's campaign, not a local file;
// plan, show, output and report read it; a second apply on another
// machine (another directory) finds nothing to do.
func TestApplyOnPostgres(t *testing.T) {
	run, simEnv := startSim(t)
	dir, env := postgresSpec(t, "quick")
	for k, v := range simEnv {
		env[k] = v
	}
	ap := invocation{args: []string{"apply", "-auto-approve", dir}, env: env}.run(t)
	noPassword(t, ap)
	if ap.code != 0 {
		t.Fatalf("apply: %d\n%s", ap.code, ap.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "xpflow.state.json")); !os.IsNotExist(err) {
		t.Errorf("apply on Postgres wrote a local state file (%v)", err)
	}
	paid := generates(run)
	// Another machine: the same spec in another directory.
	other := t.TempDir()
	src, _ := os.ReadFile(filepath.Join(dir, "quick.xp.hcl"))
	writeFile(t, other, "quick.xp.hcl", string(src)+`
output "hook" {
  value = text.hook["aurora"].content
}
`)
	plan := invocation{args: []string{"plan", other}, env: env}.run(t)
	// It has the records but not the files: it plans only free downloads.
	if plan.code != 0 || !strings.Contains(plan.stdout, "Plan: 2 to download, 2 unchanged.") {
		t.Errorf("plan on another machine: %d\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}
	show := invocation{args: []string{"show", other}, env: env}.run(t)
	if show.code != 0 || strings.Count(show.stdout, "completed") != 4 {
		t.Errorf("show on another machine: %d\n%s\n%s", show.code, show.stdout, show.stderr)
	}
	rep := invocation{args: []string{"report", "-o", filepath.Join(other, "r.html"), other}, env: env}.run(t)
	if rep.code != 0 {
		t.Errorf("report on another machine: %d\n%s", rep.code, rep.stderr)
	}
	// output reads the campaign too: the text the first machine paid for.
	out := invocation{args: []string{"output", "-json", "-dir", other, "hook"}, env: env}.run(t)
	var hook string
	if err := json.Unmarshal([]byte(out.stdout), &hook); out.code != 0 || err != nil || hook == "" {
		t.Errorf("output -json hook on another machine: %d %v\n%s\n%s", out.code, err, out.stdout, out.stderr)
	}
	again := invocation{args: []string{"apply", "-auto-approve", other}, env: env}.run(t)
	if again.code != 0 || generates(run) != paid {
		t.Errorf("apply on another machine: code %d, %d generates after %d; want nothing paid again\n%s", again.code, generates(run), paid, again.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(other, "out", "image.hero", "*"))
	if len(files) != 2 {
		t.Errorf("apply on another machine downloaded %v, want the 2 images", files)
	}
	// state rm works on the campaign: the record goes, for every machine.
	rm := invocation{args: []string{"state", "rm", "-dir", other, `text.hook["aurora"]`}, env: env}.run(t)
	if rm.code != 0 || !strings.Contains(rm.stdout, `Removed text.hook["aurora"]`) {
		t.Errorf("state rm on the campaign: %d\n%s\n%s", rm.code, rm.stdout, rm.stderr)
	}
	list := invocation{args: []string{"state", "list", dir}, env: env}.run(t)
	if list.code != 0 || strings.Contains(list.stdout, `text.hook["aurora"]`) || !strings.Contains(list.stdout, `text.hook["nimbus"]`) {
		t.Errorf("state list after rm on another machine: %d\n%s\n%s", list.code, list.stdout, list.stderr)
	}
	for _, r := range []result{plan, show, rep, out, again, rm, list} {
		noPassword(t, r)
	}
}
