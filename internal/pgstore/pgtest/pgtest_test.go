package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDatabaseIsFreshAndSeparate(t *testing.T) {
	a, b := Database(t), Database(t)
	ctx := context.Background()
	names := map[string]bool{}
	for _, conn := range []string{a, b} {
		c, err := pgx.Connect(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		var name string
		var tables int
		err = c.QueryRow(ctx, `SELECT current_database(),
			(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')`).Scan(&name, &tables)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("database %s has %d tables, want an empty one", name, tables)
		}
		names[name] = true
	}
	if len(names) != 2 {
		t.Errorf("two calls gave databases %v, want two different ones", names)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := map[string]struct{ conn, want string }{
		"keywords": {"host=/tmp/s user=x dbname=postgres", "host=/tmp/s user=x dbname=postgres dbname=d"},
		"url":      {"postgres://u:p@h:5/postgres?sslmode=disable", "postgres://u:p@h:5/d?sslmode=disable"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := WithDatabase(tc.conn, "d"); got != tc.want {
				t.Errorf("WithDatabase(%q) = %q, want %q", tc.conn, got, tc.want)
			}
		})
	}
}
