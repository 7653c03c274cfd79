// Package pgtest gives tests a fresh PostgreSQL database on the server
// named by XPFLOW_TEST_POSTGRES (a connection string; .ci/run and
// scripts/dev-postgres.sh start a throwaway cluster and set it). Without
// that variable a test skips, unless CI is set: then it fails, so a CI run
// can never pass by skipping the Postgres tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvConn is the variable holding the test server's connection string.
const EnvConn = "XPFLOW_TEST_POSTGRES"

// Server returns the connection string of the test server, skipping the
// test (or failing it under CI) when none is configured.
func Server(t testing.TB) string {
	t.Helper()
	conn := os.Getenv(EnvConn)
	if conn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set under CI: .ci/run must start Postgres", EnvConn)
		}
		t.Skipf("PostgreSQL is not available: run eval \"$(scripts/dev-postgres.sh start)\" to set %s", EnvConn)
	}
	return conn
}

// Database creates an empty database on the test server, drops it when the
// test ends, and returns a connection string for it.
func Database(t testing.TB) string {
	t.Helper()
	server := Server(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "xpflow_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connecting to the test server: %v", err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("connecting to drop %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return WithDatabase(server, name)
}

// WithDatabase returns conn with its database replaced by name. conn is a
// URL (postgres://…) or a keyword/value string, where a later keyword wins.
func WithDatabase(conn, name string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return conn + " dbname=" + name
}
