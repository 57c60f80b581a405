package config

import (
	"strings"
	"testing"
	"time"
)

// The account-recovery keys: token lifetimes within bounds, rates that
// parse, each error naming the source, the key and the fix.
func TestAccountRecoveryKeys(t *testing.T) {
	c := Default(Production)
	if c.Auth.ResetTokenTTL != time.Hour || c.Auth.VerifyTokenTTL != 48*time.Hour || c.RateLimit.Reset != "5/15m" || c.RateLimit.Verify != "3/10m" {
		t.Errorf("defaults: %v %v %q %q", c.Auth.ResetTokenTTL, c.Auth.VerifyTokenTTL, c.RateLimit.Reset, c.RateLimit.Verify)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, file string
		env        []string
		want       []string
	}{
		{"reset ttl zero", "", []string{"TRELLIS_AUTH_RESET_TOKEN_TTL=0s"}, []string{"env TRELLIS_AUTH_RESET_TOKEN_TTL", "auth.reset_token_ttl", "from 1m to 24h", `"1h"`}},
		{"reset ttl long", "[auth]\nreset_token_ttl = \"48h\"\n", nil, []string{"trellis.toml", "auth.reset_token_ttl", "from 1m to 24h"}},
		{"verify ttl long", "[auth]\nverify_token_ttl = \"1000h\"\n", nil, []string{"auth.verify_token_ttl", "from 1m to 720h", `"48h"`}},
		{"reset rate", "[ratelimit]\nreset = \"often\"\n", nil, []string{"trellis.toml", "ratelimit.reset", `invalid rate "often"`, `"10/1m"`}},
		{"verify rate", "", []string{"TRELLIS_RATELIMIT_VERIFY=0/1m"}, []string{"env TRELLIS_RATELIMIT_VERIFY", "ratelimit.verify", "invalid rate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "trellis.toml", tc.file)
			msg := loadErr(t, Options{Path: path, Env: tc.env}).Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
	path := writeFile(t, dir, "trellis.toml", "[auth]\nreset_token_ttl = \"15m\"\nverify_token_ttl = \"24h\"\n[ratelimit]\nreset = \"3/1h\"\n")
	c, err := Load(Options{Path: path, Env: []string{}})
	if err != nil || c.Auth.ResetTokenTTL != 15*time.Minute || c.Auth.VerifyTokenTTL != 24*time.Hour || c.RateLimit.Reset != "3/1h" {
		t.Errorf("valid keys: %+v %v", c, err)
	}
}
