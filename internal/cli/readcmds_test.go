package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/state"
)

// appliedQuick applies the quick campaign, with an output block, on the
// simulator and returns its directory.
func appliedQuick(t *testing.T) string {
	t.Helper()
	dir := quickDir(t)
	out := "output \"cards\" {\n  value = { for k, v in image.card : k => v.file }\n}\n"
	f, err := os.OpenFile(filepath.Join(dir, "q.xp.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(out)
	f.Close()
	if r := (invocation{args: []string{"apply", "-simulate", "-auto-approve", dir}}).run(t); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	return dir
}

func TestShowOutputAndState(t *testing.T) {
	dir := appliedQuick(t)
	run := func(args ...string) result { return invocation{args: args}.run(t) }

	show := run("show", "-simulate", dir)
	if show.code != 0 || strings.Count(show.stdout, "completed") != 4 || !strings.Contains(show.stdout, `image.card["alpha"]`) {
		t.Errorf("show: exit %d\n%s%s", show.code, show.stdout, show.stderr)
	}
	var st state.State
	if r := run("show", "-simulate", "-json", dir); json.Unmarshal([]byte(r.stdout), &st) != nil || len(st.Assets) != 4 {
		t.Errorf("show -json: want the state with 4 assets, got exit %d\n%s", r.code, r.stdout)
	}

	out := run("output", "-simulate", "-dir", dir)
	if out.code != 0 || !strings.Contains(out.stdout, "out/simulate/image.card/alpha.png") {
		t.Errorf("output: exit %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	var outs map[string]string // with NAME, -json prints the bare value
	if r := run("output", "-simulate", "-json", "-dir", dir, "cards"); json.Unmarshal([]byte(r.stdout), &outs) != nil || outs["beta"] != "out/simulate/image.card/beta.png" {
		t.Errorf("output -json cards: exit %d\n%s", r.code, r.stdout)
	}
	if r := run("output", "-simulate", "-dir", dir, "nope"); r.code != ExitError || !strings.Contains(r.stderr, `no output "nope"`) {
		t.Errorf("output of an unknown name: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run("output", "-simulate", "-dir", dir, "cards", "extra"); r.code != ExitUsage || !strings.Contains(r.stderr, "at most one NAME") {
		t.Errorf("output with two names: exit %d, stderr %q", r.code, r.stderr)
	}

	list := run("state", "list", "-simulate", dir)
	want := "image.card[\"alpha\"]\nimage.card[\"beta\"]\ntext.line[\"alpha\"]\ntext.line[\"beta\"]\n"
	if list.code != 0 || list.stdout != want {
		t.Errorf("state list: exit %d, got %q, want %q", list.code, list.stdout, want)
	}
	path := filepath.Join(dir, "xpflow.simulate.state.json")
	before, _ := os.ReadFile(path)
	if r := run("state", "rm", "-simulate", "-dir", dir, `image.card["nope"]`); r.code != ExitError {
		t.Errorf("state rm of a missing address: exit %d, want 1", r.code)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a failed state rm changed the state file")
	}
	if r := run("state", "rm", "-simulate", "-dir", dir, `image.card["alpha"]`); r.code != 0 || !strings.Contains(r.stdout, "files stay on disk") {
		t.Errorf("state rm: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "simulate", "image.card", "alpha.png")); err != nil {
		t.Errorf("state rm removed the file: %v", err)
	}
	plan := run("plan", "-simulate", "-json", dir)
	if !strings.Contains(plan.stdout, `"address": "image.card[\"alpha\"]",`) || strings.Count(plan.stdout, `"action": "create"`) != 1 {
		t.Errorf("after state rm, want exactly image.card[alpha] to create:\n%s", plan.stdout)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSimCommandServesUntilInterrupted(t *testing.T) {
	var out, errb syncBuffer
	sigs := make(chan os.Signal, 1)
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Signals: sigs}
	done := make(chan int, 1)
	go func() { done <- Main(env, []string{"sim", "-addr", "127.0.0.1:0", "-key", "xp_cmd_test"}) }()
	urlRE := regexp.MustCompile(`XPILOT_BASE_URL=(http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	var base string
	for base == "" && time.Now().Before(deadline) {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		time.Sleep(10 * time.Millisecond) // waiting on another goroutine's output, not timing logic
	}
	if base == "" {
		t.Fatalf("sim printed no base URL:\n%s%s", out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "XPILOT_API_KEY=xp_cmd_test") {
		t.Errorf("sim did not print the key to use:\n%s", out.String())
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/models", nil)
	req.Header.Set("Authorization", "Bearer xp_cmd_test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /models on the served simulator: %v %v", err, resp)
	}
	resp.Body.Close()
	sigs <- os.Interrupt
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("sim exit %d after an interrupt, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop on an interrupt")
	}
}
