package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/pgstore"
	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
)

// specPassword is written in the spec's conn_str: it must appear nowhere
// else.
const specPassword = "spec-SECRET-pw-7x"

// TestConnStrOverriddenAndNeverShown: XPFLOW_BACKEND_CONN overrides the
// conn_str of the spec's backend block (which names a server that does not
// exist, so using it fails), and the password written in that conn_str
// appears in no -json output, error, state record or file xpflow writes,
// whether the apply succeeds through the override or fails on the spec's
// own conn_str.
func TestConnStrOverriddenAndNeverShown(t *testing.T) {
	run := startSim(t)
	tm := newTeam(t, 1)
	dir := tm.machine()
	spec := filepath.Join(dir, "campaign.xp.hcl")
	src, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-server-here")
	conn := "host=" + missing + " user=xpflow password=" + specPassword + " dbname=postgres sslmode=disable"
	src = bytes.Replace(src, []byte(`campaign = "launch"`), []byte(`campaign = "launch"
    conn_str = "`+conn+`"`), 1)
	if err := os.WriteFile(spec, src, 0o644); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	// The override: tm.start sets XPFLOW_BACKEND_CONN to the test server.
	ok := tm.start("r1", run.URL, apiKey, nil, "apply", "-auto-approve", "-json", dir)
	if code := ok.wait(t, time.Minute); code != 0 {
		t.Fatalf("apply with XPFLOW_BACKEND_CONN exited %d: the override was not used?\nstderr:\n%s", code, ok.stderr)
	}
	outputs = append(outputs, ok.stdout.String(), ok.stderr.String())
	var events int
	for _, line := range strings.Split(strings.TrimSpace(ok.stdout.String()), "\n") {
		if json.Valid([]byte(line)) {
			events++
		}
	}
	if events == 0 {
		t.Errorf("apply -json printed no JSON event:\n%s", ok.stdout)
	}
	outputs = append(outputs, campaignJSON(t, tm, 3))
	// Without the override, the spec's conn_str is used, and fails.
	bad := tm.start("r2", run.URL, apiKey, []string{"XPFLOW_BACKEND_CONN="}, "apply", "-auto-approve", "-json", dir)
	if code := bad.wait(t, time.Minute); code == 0 {
		t.Fatalf("apply on the spec's conn_str (no server) succeeded:\n%s", bad.stdout)
	}
	if all := bad.stdout.String() + bad.stderr.String(); !strings.Contains(all, "no-server-here") {
		t.Errorf("the failure does not say which server it could not reach:\n%s", all)
	}
	outputs = append(outputs, bad.stdout.String(), bad.stderr.String())
	checkNotShown(t, dir, spec, outputs, specPassword)
}

// campaignJSON reads the team's campaign, checks it holds want assets and
// returns it as JSON, to be searched for secrets.
func campaignJSON(t *testing.T, tm *team, want int) string {
	t.Helper()
	st, err := tm.store().Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Assets) != want {
		t.Errorf("the campaign holds %d assets, want %d", len(st.Assets), want)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkNotShown fails t if any secret is in outputs or in a file under dir
// other than the spec that holds them.
func checkNotShown(t *testing.T, dir, spec string, outputs []string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		for _, out := range outputs {
			if strings.Contains(out, sec) {
				t.Errorf("a password written in the spec shows in:\n%s", out)
			}
		}
	}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || p == spec {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds a password written in the spec", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConnStrPasswordAuthenticatesAndIsNeverShown: on a server that
// refuses any connection without the right password, an apply with no
// XPFLOW_BACKEND_CONN connects with the password written in the spec's
// conn_str and records the campaign; a wrong password fails, naming the
// server; neither password appears in any output, record or file.
func TestConnStrPasswordAuthenticatesAndIsNeverShown(t *testing.T) {
	const wrongPassword = "wrong-SECRET-pw-3k"
	cluster := pgtest.NewClusterWithPassword(t, specPassword)
	// The server checks the password: without it, or with another, no
	// connection.
	for _, conn := range []string{cluster.Conn, cluster.Conn + " password=" + wrongPassword} {
		if s, err := pgstore.Open(context.Background(), conn, "launch", pgstore.Options{Runner: "test"}); err == nil {
			s.Close()
			t.Fatalf("connected with %q: the server does not check passwords", strings.ReplaceAll(conn, wrongPassword, "***"))
		}
	}
	run := startSim(t)
	tm := newTeamWith(t, 1, cluster.Conn, specPassword)
	dir := tm.machine()
	spec := filepath.Join(dir, "campaign.xp.hcl")
	src, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	withConn := func(pw string) {
		t.Helper()
		b := bytes.Replace(src, []byte(`campaign = "launch"`), []byte(`campaign = "launch"
    conn_str = "`+cluster.Conn+` password=`+pw+`"`), 1)
		if err := os.WriteFile(spec, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noOverride := []string{"XPFLOW_BACKEND_CONN="}
	withConn(wrongPassword)
	bad := tm.start("r1", run.URL, apiKey, noOverride, "apply", "-auto-approve", "-json", dir)
	if code := bad.wait(t, time.Minute); code == 0 {
		t.Fatalf("apply with a wrong password in the spec's conn_str succeeded:\n%s", bad.stdout)
	}
	if all := bad.stdout.String() + bad.stderr.String(); !strings.Contains(all, cluster.Socket) || !strings.Contains(all, ": connecting: ") {
		t.Errorf("the failure does not say it could not connect to the server:\n%s", all)
	}
	withConn(specPassword)
	ok := tm.start("r1", run.URL, apiKey, noOverride, "apply", "-auto-approve", "-json", dir)
	if code := ok.wait(t, time.Minute); code != 0 {
		t.Fatalf("apply with the spec's conn_str exited %d\nstderr:\n%s", code, ok.stderr)
	}
	outputs := []string{bad.stdout.String(), bad.stderr.String(), ok.stdout.String(), ok.stderr.String(), campaignJSON(t, tm, 3)}
	checkNotShown(t, dir, spec, outputs, specPassword, wrongPassword)
}
