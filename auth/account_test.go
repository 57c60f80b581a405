package auth_test

import (
	"net/http"
	"testing"

	"github.com/trellis-go/trellis/config"
)

// The page showing a new token's secret is never cached.
func TestNewTokenPageIsNotCached(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.register(t, "kim@example.com", "kim password")
	if res := e.PostForm("/account/tokens", form("token_name", "ci")); res.StatusCode != http.StatusCreated || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("new token page: %d Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

// A limit of one attempt is a limit, not "no limit".
func TestRateLimitOfOne(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *config.Config) { c.RateLimit.Register = "1/1m" })
	e.register(t, "first@example.com", "first password")
	res := e.visitor().PostForm("/register", form("email", "second@example.com", "password", "second password", "password_confirm", "second password"))
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second registration from one address: %d", res.StatusCode)
	}
}
