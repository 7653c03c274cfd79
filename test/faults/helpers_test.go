package faults_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
	"github.com/xpflow/xpflow/internal/testbin"
)

// apiKey is a recognisable key: it must never appear in any output or in
// any file xpflow writes.
const apiKey = "xp_fault_SECRET_7f3a"

// longEnv turns on the long variants of the campaign.
const longEnv = "XPFLOW_FAULTS_LONG"

// binary is the xpflow executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, &binary))
}

// startSim serves a simulator for one test with short latencies and a
// generous rate limit, so faults are the subject, not the limiter.
func startSim(t *testing.T, opts ...sim.Option) *sim.Running {
	t.Helper()
	all := append([]sim.Option{sim.WithKey(apiKey, 10_000_000), sim.WithRateLimit(600),
		sim.WithLatency("video", time.Second, 3*time.Second),
		sim.WithLatency("image", 500*time.Millisecond, time.Second)}, opts...)
	run, err := sim.Start("", all...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	return run
}

// newCampaignDir copies the fixture campaign into a temp directory with n
// products (3n assets) and returns the directory.
func newCampaignDir(t *testing.T, n int) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "campaign", "campaign.xp.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	const def = "default     = 10"
	if !bytes.Contains(src, []byte(def)) {
		t.Fatalf("fixture lost its %q line", def)
	}
	src = bytes.Replace(src, []byte(def), []byte(fmt.Sprintf("default     = %d", n)), 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// secretGuard collects every text a test produced and, at cleanup, fails
// the test if the API key appears in it or in any file under the watched
// directories (state, lock, out/).
type secretGuard struct {
	t     *testing.T
	mu    sync.Mutex // guards texts
	texts map[string]func() string
}

// guardSecrets returns the test's guard. Texts are checked at t.Cleanup;
// each directory is scanned by a cleanup registered with it, so the scan
// runs before t.TempDir removes it.
func guardSecrets(t *testing.T) *secretGuard {
	g := &secretGuard{t: t, texts: map[string]func() string{}}
	t.Cleanup(g.checkTexts)
	return g
}

// text registers an output to scan; get is called at cleanup.
func (g *secretGuard) text(name string, get func() string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.texts[fmt.Sprintf("%s#%d", name, len(g.texts))] = get
}

// dir registers a directory whose files are all scanned at cleanup.
func (g *secretGuard) dir(d string) {
	g.t.Cleanup(func() { scanDir(g.t, d) })
}

func (g *secretGuard) checkTexts() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, get := range g.texts {
		if strings.Contains(get(), apiKey) {
			g.t.Errorf("secret: %s shows the API key", name)
		}
	}
}

// scanDir fails t if any file under d holds the API key.
func scanDir(t *testing.T, d string) {
	err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(apiKey)) {
			t.Errorf("secret: file %s holds the API key", p)
		}
		return nil
	})
	if err != nil {
		t.Errorf("secret: scanning %s: %v", d, err)
	}
}

// tagRE finds the asset tags the fixture puts in every prompt.
var tagRE = regexp.MustCompile(`\[([TIV])-(p[0-9]{2})\]`)

// generateKinds gives, per generate endpoint, the tag letter of its prompts
// and the block of its assets.
var generateKinds = map[string]struct{ tag, block string }{
	"text.generate":  {"T", "text.hook"},
	"image.generate": {"I", "image.hero"},
	"video.generate": {"V", "video.spot"},
}

// addrOf maps a generate request to the address it was made for, by the
// tag in its prompt; "" when the request is no generate or has no tag.
func addrOf(r sim.Request) string {
	kind, ok := generateKinds[r.Endpoint]
	if !ok {
		return ""
	}
	var body struct {
		Prompt string `json:"prompt"`
	}
	if json.Unmarshal(r.Body, &body) != nil {
		return ""
	}
	for _, m := range tagRE.FindAllStringSubmatch(body.Prompt, -1) {
		if m[1] == kind.tag {
			return kind.block + `["` + m[2] + `"]`
		}
	}
	return ""
}

// ledger is the simulator log seen per asset.
type ledger struct {
	// charged lists the generates the server accepted and charged, per address.
	charged map[string][]sim.Request
	// requests counts every API and CDN request per address (generates,
	// polls and downloads of its tasks).
	requests map[string]int
	// unmapped counts requests that name no asset (models, unknown tasks).
	unmapped int
}

// readLedger maps the simulator's log to addresses.
func readLedger(log []sim.Request) ledger {
	l := ledger{charged: map[string][]sim.Request{}, requests: map[string]int{}}
	byTask := map[string]string{}
	for _, r := range log {
		if a := addrOf(r); a != "" && r.TaskID != "" {
			byTask[r.TaskID] = a
		}
	}
	for _, r := range log {
		a := addrOf(r)
		if a == "" && r.TaskID != "" {
			a = byTask[r.TaskID]
		}
		if a == "" {
			l.unmapped++
			continue
		}
		l.requests[a]++
		if strings.HasSuffix(r.Endpoint, ".generate") && r.Status == 200 && r.Charged > 0 {
			l.charged[a] = append(l.charged[a], r)
		}
	}
	return l
}

// loadState loads the campaign's state and checks every completed output:
// the file exists, is complete and matches its recorded sha256.
func loadState(t *testing.T, dir string) *state.State {
	t.Helper()
	st, err := state.Load(filepath.Join(dir, "xpflow.state.json"))
	if err != nil {
		t.Fatalf("state does not parse: %v", err)
	}
	for addr, a := range st.Assets {
		if a.Status != state.StatusCompleted {
			continue
		}
		for _, o := range a.Outputs {
			if o.File == "" {
				continue // completed, download not done yet
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(o.File)))
			if err != nil {
				t.Errorf("%s: recorded output %s: %v", addr, o.File, err)
				continue
			}
			sum := sha256.Sum256(b)
			if got := hex.EncodeToString(sum[:]); got != o.SHA256 || int64(len(b)) != o.Bytes {
				t.Errorf("%s: %s has sha256 %s (%d bytes), state says %s (%d bytes)", addr, o.File, got, len(b), o.SHA256, o.Bytes)
			}
		}
	}
	return st
}

// tempFiles lists download temp files left anywhere under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasPrefix(e.Name(), ".xpflow-download-") {
			rel, _ := filepath.Rel(dir, p)
			found = append(found, rel)
		}
		return nil
	})
	sort.Strings(found)
	return found
}

// addrs returns the sorted addresses of a state.
func addrs(st *state.State) []string {
	out := make([]string, 0, len(st.Assets))
	for a := range st.Assets {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// wantAddrs is every address of a campaign of n products.
func wantAddrs(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		for _, b := range []string{"text.hook", "image.hero", "video.spot"} {
			out = append(out, fmt.Sprintf(`%s["p%02d"]`, b, i))
		}
	}
	sort.Strings(out)
	return out
}
