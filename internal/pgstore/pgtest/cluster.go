package pgtest

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
)

// Env variables naming the PostgreSQL binaries and the unprivileged user
// to run them as (Postgres refuses root), for tests that need a cluster of
// their own to stop and start. .ci/run and scripts/dev-postgres.sh set them.
const (
	EnvBinDir = "XPFLOW_TEST_PG_BINDIR"
	EnvUser   = "XPFLOW_TEST_PG_USER"
)

// Cluster is a throwaway PostgreSQL cluster of one test, listening on a
// Unix socket in its own directory.
type Cluster struct {
	t      testing.TB
	bin    string
	user   string
	dir    string
	Conn   string // connection string of database postgres, user xpflow
	Socket string // the socket directory
}

// NewCluster creates and starts a cluster that trusts every local
// connection, stopped at the end of the test. Without EnvBinDir the test
// skips, or fails under CI.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	return newCluster(t, "")
}

// NewClusterWithPassword is NewCluster where every connection must give
// password (SCRAM): a connection string without it, or with another, is
// refused. Conn holds no password.
func NewClusterWithPassword(t testing.TB, password string) *Cluster {
	t.Helper()
	return newCluster(t, password)
}

func newCluster(t testing.TB, password string) *Cluster {
	t.Helper()
	bin := os.Getenv(EnvBinDir)
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set under CI: .ci/run must export it", EnvBinDir)
		}
		t.Skipf("PostgreSQL binaries not configured: run eval \"$(scripts/dev-postgres.sh start)\" to set %s", EnvBinDir)
	}
	c := &Cluster{t: t, bin: bin, user: os.Getenv(EnvUser)}
	dir, err := os.MkdirTemp("", "xpflow-pgc-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir, c.Socket = dir, filepath.Join(dir, "sock")
	t.Cleanup(func() {
		_ = c.pgctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	if err := os.Mkdir(c.Socket, 0o700); err != nil {
		t.Fatal(err)
	}
	auth := []string{"--auth=trust"}
	if password != "" {
		pwfile := filepath.Join(dir, "pwfile")
		if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = []string{"--auth=scram-sha-256", "--pwfile=" + pwfile}
	}
	if c.user != "" && os.Geteuid() == 0 {
		if err := exec.Command("chown", "-R", c.user, dir).Run(); err != nil {
			t.Fatalf("chown %s: %v", dir, err)
		}
	}
	args := append([]string{"-D", filepath.Join(dir, "data"), "-U", "xpflow"}, auth...)
	args = append(args, "-E", "UTF8", "--locale=C.UTF-8")
	if out, err := c.command(filepath.Join(bin, "initdb"), args...).CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if password != "" {
		_ = os.Remove(filepath.Join(dir, "pwfile"))
	}
	c.Start()
	c.Conn = "host=" + c.Socket + " user=xpflow dbname=postgres sslmode=disable"
	return c
}

// command runs name as the cluster's user when the test runs as root.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	if c.user != "" && os.Geteuid() == 0 {
		if u, err := user.Current(); err != nil || u.Username != c.user {
			return exec.Command("runuser", append([]string{"-u", c.user, "--", name}, args...)...)
		}
	}
	return exec.Command(name, args...)
}

func (c *Cluster) pgctl(args ...string) error {
	all := append([]string{"-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w",
		"-o", "-c listen_addresses='' -k " + c.Socket + " -c fsync=off"}, args...)
	out, err := c.command(filepath.Join(c.bin, "pg_ctl"), all...).CombinedOutput()
	if err != nil {
		c.t.Logf("pg_ctl %v: %v\n%s", args, err, out)
	}
	return err
}

// Start starts the cluster (again).
func (c *Cluster) Start() {
	c.t.Helper()
	if err := c.pgctl("start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("starting the cluster: %v\n%s", err, log)
	}
}

// Stop stops the cluster, cutting every connection.
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgctl("stop", "-m", "fast"); err != nil {
		c.t.Fatalf("stopping the cluster: %v", err)
	}
}
