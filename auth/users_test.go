package auth_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/trellistest"
	"modernc.org/sqlite"
)

// countingConn counts the statements sent on a connection. It hides the
// driver's QueryerContext and ExecerContext, so database/sql prepares
// every statement, and Prepare sees them all.
type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c countingConn) Prepare(query string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.Conn.Prepare(query)
}

type countingConnector struct {
	drv driver.Driver
	dsn string
	n   *atomic.Int64
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: conn, n: c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.drv }

// TestLoadingAUserIsOneQuery loads users with 0, 1 and 2 roles by id and
// by email on SQLite and PostgreSQL, counting the statements sent.
func TestLoadingAUserIsOneQuery(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cfg := config.Default(config.Test).Database
			var conn countingConnector
			if name == "postgres" {
				cfg.URL = trellistest.PostgresURL(t)
				conn = countingConnector{drv: stdlib.GetDefaultDriver(), dsn: cfg.URL}
			}
			d, err := db.Open(ctx, cfg, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
				t.Fatal(err)
			}
			if name == "sqlite" {
				conn = countingConnector{drv: &sqlite.Driver{}, dsn: d.Path}
			}
			conn.n = &atomic.Int64{}
			counted := sql.OpenDB(conn)
			t.Cleanup(func() { _ = counted.Close() })
			users := auth.NewUsers(&db.DB{SQL: counted, Dialect: d.Dialect})

			setup := auth.NewUsers(d)
			want := map[string][]string{"none@example.com": {}, "one@example.com": {"editor"}, "two@example.com": {"admin", "zeta"}}
			for _, email := range []string{"none@example.com", "one@example.com", "two@example.com"} {
				u, err := setup.Create(ctx, email, "", "hash")
				if err != nil {
					t.Fatal(err)
				}
				// Granted out of order: loading sorts them.
				for _, role := range slices.Backward(want[email]) {
					if _, err := setup.AddRole(ctx, u.ID, role); err != nil {
						t.Fatal(err)
					}
				}
				byEmail := func() (*auth.User, error) { return users.ByEmail(ctx, email) }
				byID := func() (*auth.User, error) { return users.ByID(ctx, u.ID) }
				for how, load := range map[string]func() (*auth.User, error){"ByEmail": byEmail, "ByID": byID} {
					before := conn.n.Load()
					got, err := load()
					if err != nil {
						t.Fatalf("%s %s: %v", how, email, err)
					}
					if n := conn.n.Load() - before; n != 1 {
						t.Errorf("%s %s sent %d statements, want 1", how, email, n)
					}
					if got.ID != u.ID || got.Email != email || got.Roles == nil || !slices.Equal(got.Roles, want[email]) {
						t.Errorf("%s %s: id %d roles %#v, want id %d roles %#v", how, email, got.ID, got.Roles, u.ID, want[email])
					}
				}
			}
			if _, err := users.ByID(ctx, 99999); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("unknown id: %v", err)
			}
			if _, err := users.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("unknown email: %v", err)
			}
		})
	}
}
