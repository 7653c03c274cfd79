package teams

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/testbin"
)

// apiKey and dbPassword must never appear in any output or file.
const (
	apiKey     = "xp_team_SECRET_51c0"
	dbPassword = "db-SECRET-pw-9q"
)

var binary string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &binary)) }

// startSim serves a simulator with short latencies.
func startSim(t *testing.T, opts ...sim.Option) *sim.Running {
	t.Helper()
	all := append([]sim.Option{sim.WithKey(apiKey, 10_000_000), sim.WithRateLimit(600),
		sim.WithLatency("video", time.Second, 3*time.Second),
		sim.WithLatency("image", 300*time.Millisecond, 800*time.Millisecond)}, opts...)
	run, err := sim.Start("", all...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	return run
}

// team is one campaign in a fresh database and the runners applying it.
type team struct {
	t    *testing.T
	conn string // with a password the server ignores
	n    int    // products: 3n assets
	mu   sync.Mutex
	outs []func() string // every output, checked for secrets at cleanup
}

func newTeam(t *testing.T, n int) *team {
	return newTeamOn(t, n, pgtest.Database(t))
}

// newTeamOn is newTeam on the database of conn.
func newTeamOn(t *testing.T, n int, conn string) *team {
	return newTeamWith(t, n, conn, dbPassword)
}

// newTeamWith is newTeamOn where the runners give password.
func newTeamWith(t *testing.T, n int, conn, password string) *team {
	tm := &team{t: t, conn: conn + " password=" + password, n: n}
	t.Cleanup(tm.checkSecrets)
	return tm
}

// machine returns a fresh directory holding the campaign: one runner's
// machine, with its own out/.
func (tm *team) machine() string {
	tm.t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "campaign.xp.hcl"))
	if err != nil {
		tm.t.Fatal(err)
	}
	src = bytes.Replace(src, []byte("default     = 15"), []byte(fmt.Sprintf("default     = %d", tm.n)), 1)
	dir := tm.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), src, 0o644); err != nil {
		tm.t.Fatal(err)
	}
	tm.t.Cleanup(func() { tm.scanDir(dir) })
	return dir
}

// proc is one xpflow process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *testbin.Output
	done           chan struct{}
	err            error
}

// start runs xpflow as runner name with args, against the simulator at
// baseURL with key; extra adds environment variables.
func (tm *team) start(name, baseURL, key string, extra []string, args ...string) *proc {
	tm.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + tm.t.TempDir(),
		"XPFLOW_CACHE_DIR=" + tm.t.TempDir(),
		"XPILOT_BASE_URL=" + baseURL,
		"XPILOT_API_KEY=" + key,
		"XPILOT_RATE_LIMIT=600",
		"XPFLOW_BACKEND_CONN=" + tm.conn,
		"XPFLOW_RUNNER=" + name,
	}, extra...)
	p := &proc{name: name, cmd: cmd, stdout: &testbin.Output{}, stderr: &testbin.Output{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	tm.mu.Lock()
	tm.outs = append(tm.outs, p.stdout.String, p.stderr.String)
	tm.mu.Unlock()
	if err := cmd.Start(); err != nil {
		tm.t.Fatalf("start xpflow: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tm.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits at most limit for p and returns its exit code (-1 when
// killed by a signal).
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("runner %s did not end within %s\nstdout:\n%s\nstderr:\n%s", p.name, limit, p.stdout, p.stderr)
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		t.Fatalf("wait for runner %s: %v", p.name, p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (tm *team) checkSecrets() {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, get := range tm.outs {
		out := get()
		if strings.Contains(out, apiKey) || strings.Contains(out, dbPassword) {
			tm.t.Errorf("a runner's output shows a secret:\n%s", out)
		}
	}
}

func (tm *team) scanDir(dir string) {
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && (bytes.Contains(b, []byte(apiKey)) || bytes.Contains(b, []byte(dbPassword))) {
			tm.t.Errorf("%s holds a secret", p)
		}
		return nil
	})
}

// store opens the campaign for the test's own reads.
func (tm *team) store() *pgstore.Store {
	tm.t.Helper()
	s, err := pgstore.Open(context.Background(), tm.conn, "launch", pgstore.Options{Runner: "test"})
	if err != nil {
		tm.t.Fatal(err)
	}
	tm.t.Cleanup(func() { s.Close() })
	return s
}

var tagRE = regexp.MustCompile(`\[([TIV])-(p\d+)\]`)

var generateKinds = map[string]struct{ tag, block string }{
	"text.generate":  {"T", "text.hook"},
	"image.generate": {"I", "image.hero"},
	"video.generate": {"V", "video.spot"},
}

// charged maps each address to the generates the simulator charged for it.
func charged(log []sim.Request) map[string]int {
	out := map[string]int{}
	for _, r := range log {
		kind, ok := generateKinds[r.Endpoint]
		if !ok || r.Status != 200 || r.Charged <= 0 {
			continue
		}
		var body struct {
			Prompt string `json:"prompt"`
		}
		if json.Unmarshal(r.Body, &body) != nil {
			continue
		}
		for _, m := range tagRE.FindAllStringSubmatch(body.Prompt, -1) {
			if m[1] == kind.tag {
				out[kind.block+`["`+m[2]+`"]`]++
			}
		}
	}
	return out
}

// addrs lists every address of the campaign.
func (tm *team) addrs() []string {
	var out []string
	for i := 1; i <= tm.n; i++ {
		for _, b := range []string{"text.hook", "image.hero", "video.spot"} {
			out = append(out, fmt.Sprintf(`%s["p%02d"]`, b, i))
		}
	}
	sort.Strings(out)
	return out
}

// checkFiles checks that every output recorded in st has a sha256, and
// that dir's copy of it, when dir has one, matches it. It returns how
// many files dir holds.
func checkFiles(t *testing.T, st *state.State, dir string) int {
	t.Helper()
	n := 0
	for addr, a := range st.Assets {
		for _, o := range a.Outputs {
			if o.SHA256 == "" || o.File == "" {
				t.Errorf("%s: output %s has no recorded file and sha256", addr, o.URL)
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(o.File)))
			if err != nil {
				continue
			}
			n++
			sum := sha256.Sum256(b)
			if got := hex.EncodeToString(sum[:]); got != o.SHA256 {
				t.Errorf("%s: %s in %s has sha256 %s, the campaign records %s", addr, o.File, dir, got, o.SHA256)
			}
		}
	}
	return n
}
