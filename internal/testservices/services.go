// Package testservices finds the PostgreSQL and Redis servers tests run
// against. trellistest re-exports it for apps; framework packages whose own
// (internal) tests cannot import trellistest use it directly.
package testservices

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// RequireServices reports whether TRELLIS_REQUIRE_SERVICES=1 is set, in
// which case a missing service fails a test instead of skipping it.
func RequireServices() bool { return os.Getenv("TRELLIS_REQUIRE_SERVICES") == "1" }

// Unavailable skips the test with a clear message, or fails it when
// services are required.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not reachable (%v); start it or set its URL", service, err)
	if RequireServices() {
		t.Fatalf("%s — TRELLIS_REQUIRE_SERVICES=1 makes this a failure", msg)
	}
	t.Skip(msg)
}

// PostgresURL returns the URL of a fresh, empty PostgreSQL database created
// for this test on the server at TRELLIS_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). The database is
// dropped when the test ends. Without a server the test is skipped (or
// fails under TRELLIS_REQUIRE_SERVICES=1).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TRELLIS_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TRELLIS_TEST_POSTGRES_URL: %v", err)
	}
	if err := dial(u.Host, "5432"); err != nil {
		Unavailable(t, "PostgreSQL at "+u.Host, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	name := "trellis_t_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		Unavailable(t, "PostgreSQL at "+u.Host, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns TRELLIS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0)
// after checking the server answers, plus a key prefix unique to this test
// so parallel tests do not collide. Without a server the test is skipped
// (or fails under TRELLIS_REQUIRE_SERVICES=1).
func RedisURL(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	redisURL = os.Getenv("TRELLIS_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatalf("TRELLIS_TEST_REDIS_URL: %v", err)
	}
	if err := dial(u.Host, "6379"); err != nil {
		Unavailable(t, "Redis at "+u.Host, err)
	}
	return redisURL, "trellis_t_" + randomHex(6) + ":"
}

func dial(host, defaultPort string) error {
	if !strings.Contains(host, ":") {
		host = net.JoinHostPort(host, defaultPort)
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
