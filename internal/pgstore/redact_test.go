package pgstore

import (
	"context"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/pgstore/pgtest"
)

const secret = "s3cr3t-pw-Zq9"

// TestErrorsNeverHoldThePassword: every way Open can fail with a password
// in the connection string gives a message without the password.
func TestErrorsNeverHoldThePassword(t *testing.T) {
	server := pgtest.Server(t)
	tests := map[string]string{
		"no such socket":      "host=/nonexistent/xpflow user=u password=" + secret + " dbname=d connect_timeout=2",
		"bad port":            "host=/tmp port=notaport password=" + secret,
		"bad url":             "postgres://u:" + secret + "@/d?host=/nonexistent&sslmode=nonsense",
		"url unreachable":     "postgres://u:" + secret + "@/d?host=/nonexistent/x&connect_timeout=2",
		"quoted password":     "host=/nonexistent/xpflow password='" + secret + " x' connect_timeout=2",
		"no such database":    server + " password=" + secret + " dbname=xpflow_no_such_db",
		"no such role":        server + " password=" + secret + " user=xpflow_no_such_role",
		"unknown sslmode url": "postgresql://xpflow:" + secret + "@localhost:1/postgres?sslmode=bogus",
	}
	for name, conn := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Open(context.Background(), conn, "c", Options{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"keyword":  {"host=h password=abc user=u", "host=h password=xxxxx user=u"},
		"quoted":   {"password='a b\\' c' user=u", "password=xxxxx user=u"},
		"spaces":   {"password = abc", "password = xxxxx"},
		"url":      {"postgres://bob:pw@host/db", "postgres://bob:xxxxx@host/db"},
		"url user": {"postgres://bob@host/db", "postgres://bob@host/db"},
		"none":     {"host=h user=u", "host=h user=u"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
