package trellistest

import (
	"testing"

	"github.com/trellis-go/trellis/internal/testservices"
)

// RequireServices reports whether TRELLIS_REQUIRE_SERVICES=1 is set, in
// which case a missing service fails a test instead of skipping it.
func RequireServices() bool { return testservices.RequireServices() }

// Unavailable skips the test with a clear message, or fails it when
// services are required.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	testservices.Unavailable(t, service, err)
}

// PostgresURL returns the URL of a fresh, empty PostgreSQL database created
// for this test on the server at TRELLIS_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). The database is
// dropped when the test ends. Without a server the test is skipped (or
// fails under TRELLIS_REQUIRE_SERVICES=1).
func PostgresURL(t testing.TB) string {
	t.Helper()
	return testservices.PostgresURL(t)
}

// RedisURL returns TRELLIS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0)
// after checking the server answers, plus a key prefix unique to this test
// so parallel tests do not collide. Without a server the test is skipped
// (or fails under TRELLIS_REQUIRE_SERVICES=1).
func RedisURL(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	return testservices.RedisURL(t)
}
