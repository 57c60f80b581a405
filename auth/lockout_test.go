package auth_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// TestAttackersCannotLockOwnersOut floods an account with failed logins
// from many addresses. Unknown browsers hit the per-account limit, but the
// owner's browser, which has signed in before, still signs in, within a
// limit of its own.
func TestAttackersCannotLockOwnersOut(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		owner := trellistest.NewApp(t, nil, trellistest.OnBackend(b), trellistest.Configure(func(c *config.Config) {
			c.RateLimit.Login = "3/1m"
			c.Server.TrustedProxies = []string{"127.0.0.1"}
		}))
		from := func(ip string) trellistest.RequestOption { return trellistest.Header("X-Forwarded-For", ip) }
		login := func(s *trellistest.Server, password, ip string) *trellistest.Response {
			return s.PostForm("/login", url.Values{"email": {"vic@example.com"}, "password": {password}}, from(ip))
		}
		owner.CreateUser("vic@example.com", "victim password 1")
		login(owner.Server, "victim password 1", "192.0.2.10").AssertRedirect("/")
		owner.SignOut()

		attacker := owner.AsNewVisitor()
		for i := range 10 {
			login(attacker, "guess", fmt.Sprintf("203.0.113.%d", i+1))
		}
		// A browser that never signed in to the account is locked out…
		stranger := owner.AsNewVisitor()
		res := login(stranger, "victim password 1", "198.51.100.7")
		res.AssertStatus(http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Limit") != "3" {
			t.Errorf("per-account 429 without its headers: %v", res.Header)
		}
		// …the owner's browser is not, from the same or a new address.
		login(owner.Server, "victim password 1", "198.51.100.8").AssertRedirect("/")
		owner.SignOut()
		// The owner's browser has a limit of its own.
		for range 3 {
			login(owner.Server, "wrong", "198.51.100.9")
		}
		login(owner.Server, "victim password 1", "198.51.100.10").AssertStatus(http.StatusTooManyRequests)

	})
}
