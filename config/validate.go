package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-go/trellis/ratelimit"
)

// Validate checks every value and, for the production profile, refuses
// insecure settings. It returns an [Errors] value or nil.
func (c *Config) Validate() error {
	v := validator{c: c}

	v.check(c.App.Name != "", "app.name", "is empty", "set a name for the app")
	v.check(c.App.DataDir != "", "app.data_dir", "is empty", `set a directory such as "data"`)

	if host, port, err := net.SplitHostPort(c.Server.Addr); err != nil {
		v.add("server.addr", fmt.Sprintf("invalid address %q: %v", c.Server.Addr, err), `use host:port such as "127.0.0.1:3000" or ":3000"`)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
		v.add("server.addr", fmt.Sprintf("invalid address %q", c.Server.Addr), `use host:port with a port from 0 to 65535`)
	}
	v.check(c.Server.ReadHeaderTimeout > 0, "server.read_header_timeout", "must be positive (slow clients could hold connections forever)", `use a duration such as "5s"`)
	v.check(c.Server.ReadTimeout > 0, "server.read_timeout", "must be positive", `use a duration such as "30s"`)
	v.check(c.Server.WriteTimeout > 0, "server.write_timeout", "must be positive", `use a duration such as "60s"`)
	v.check(c.Server.IdleTimeout > 0, "server.idle_timeout", "must be positive", `use a duration such as "120s"`)
	v.check(c.Server.RequestTimeout >= 0, "server.request_timeout", "must not be negative", `use "0s" for none or a duration such as "30s"`)
	v.check(c.Server.ShutdownTimeout > 0, "server.shutdown_timeout", "must be positive", `use a duration such as "30s"`)
	v.check(c.Server.DrainDelay >= 0, "server.drain_delay", "must not be negative", `use "0s" for none or a duration such as "5s"`)
	v.check(c.Server.MaxBodyBytes > 0, "server.max_body_bytes", "must be positive", "use a size in bytes such as 2097152 (2 MiB)")
	v.check(c.Server.MaxHeaderBytes > 0, "server.max_header_bytes", "must be positive", "use a size in bytes such as 65536")
	if (c.Server.TLSCert == "") != (c.Server.TLSKey == "") {
		v.add("server.tls_cert", "tls_cert and tls_key must be set together", "set both server.tls_cert and server.tls_key, or neither")
	}
	for _, k := range []struct{ key, path string }{{"server.tls_cert", c.Server.TLSCert}, {"server.tls_key", c.Server.TLSKey}} {
		if k.path == "" {
			continue
		}
		if _, err := os.Stat(k.path); err != nil {
			v.add(k.key, fmt.Sprintf("cannot read %q: %v", k.path, err), "point it at an existing PEM file")
		}
	}

	u := c.Database.URL
	v.check(u == "" || strings.HasPrefix(u, "sqlite:") || strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://"),
		"database.url", fmt.Sprintf("unsupported database URL %q", redactURL(u)), `leave empty for the embedded SQLite file, or use "sqlite:path/app.db" or "postgres://user@host/db"`)
	v.check(c.Database.MaxOpenConns >= 0, "database.max_open_conns", "must not be negative", "use 0 for the driver default or a positive number")
	v.check(c.Database.MaxIdleConns >= 0, "database.max_idle_conns", "must not be negative", "use 0 or a positive number")
	v.check(c.Database.ConnMaxLifetime >= 0, "database.conn_max_lifetime", "must not be negative", `use "0s" for no limit or a duration such as "30m"`)
	v.check(c.Database.BusyTimeout >= 0, "database.busy_timeout", "must not be negative", `use a duration such as "5s"`)

	v.validateSecurity()

	v.check(c.HTMX.Version == 2 || c.HTMX.Version == 4, "htmx.version", fmt.Sprintf("unsupported htmx version %d", c.HTMX.Version),
		"use 2 (the default) or 4; Trellis vendors htmx 2 and htmx 4")
	v.check(slices.Contains([]string{"innerHTML", "outerHTML", "textContent", "beforebegin", "afterbegin", "beforeend", "afterend", "delete", "none"}, c.HTMX.DefaultSwapStyle),
		"htmx.default_swap_style", fmt.Sprintf("unknown swap style %q", c.HTMX.DefaultSwapStyle), "use innerHTML, outerHTML, textContent, beforebegin, afterbegin, beforeend, afterend, delete or none")
	v.check(c.HTMX.HistoryCacheSize >= 0, "htmx.history_cache_size", "must not be negative", "use 0 to disable the history cache or a positive number")
	v.check(c.HTMX.Timeout >= 0, "htmx.timeout", "must not be negative", `use "0s" for no timeout or a duration such as "30s"`)
	if c.Profile == Production {
		v.check(!c.HTMX.AllowEval, "htmx.allow_eval", "is refused in production: it needs 'unsafe-eval' in the Content-Security-Policy",
			"set htmx.allow_eval = false and move hx-on handlers into a script file")
	}

	v.check(slices.Contains([]string{"debug", "info", "warn", "error"}, c.Logging.Level), "logging.level",
		fmt.Sprintf("unknown level %q", c.Logging.Level), "use debug, info, warn or error")
	v.check(c.Logging.Format == "text" || c.Logging.Format == "json", "logging.format",
		fmt.Sprintf("unknown format %q", c.Logging.Format), "use text or json")
	v.check(c.Health.CheckTimeout > 0, "health.check_timeout", "must be positive", `use a duration such as "2s"`)
	for _, p := range c.Server.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				v.add("server.trusted_proxies", fmt.Sprintf("%q is neither an IP nor a CIDR", p), `use entries such as "10.0.0.0/8" or "127.0.0.1"`)
			}
		}
	}
	v.validateSession()
	v.validateAuth()
	for _, o := range c.CSRF.TrustedOrigins {
		u, err := url.Parse(o)
		v.check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && (u.Path == "" || u.Path == "/") && u.RawQuery == "",
			"csrf.trusted_origins", fmt.Sprintf("%q is not an origin", o), `use scheme://host[:port] such as "https://admin.example.com"`)
	}
	for _, p := range c.CSRF.ExemptPaths {
		v.check(strings.HasPrefix(p, "/") && len(p) > 1, "csrf.exempt_paths", fmt.Sprintf("%q is not a path prefix", p), `use prefixes such as "/webhooks/"; "/" would disable CSRF protection`)
	}
	v.validateRateLimit()
	v.validateJobs()
	v.validateMail()
	v.validateStorage()
	m := c.Metrics
	v.check(strings.HasPrefix(m.Path, "/") && !strings.ContainsAny(m.Path, " ?#"), "metrics.path", fmt.Sprintf("invalid path %q", m.Path), `use a path such as "/metrics"`)
	v.check(m.Token == "" || len(m.Token) >= 16, "metrics.token", "is shorter than 16 characters", "use a long random token")
	if m.Addr != "" {
		if _, _, err := net.SplitHostPort(m.Addr); err != nil {
			v.add("metrics.addr", fmt.Sprintf("invalid address %q: %v", m.Addr, err), `use host:port such as "127.0.0.1:9090"`)
		} else if m.Addr == c.Server.Addr {
			v.add("metrics.addr", "is the same as server.addr", "use another port, or leave metrics.addr empty to serve metrics on the app's router")
		}
	}
	if c.Profile == Production && m.Enabled && m.Token == "" && m.Addr == "" && !m.AllowPublic {
		v.add("metrics.enabled", "metrics would be public: production serves them on the app's router without a token",
			"set metrics.token (scrapers send it as a bearer token), or metrics.addr to serve them on a private listener, or metrics.allow_public = true if a proxy already guards the path")
	}

	v.validateTelemetry()
	v.validateOAuth()

	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

func (v *validator) validateTelemetry() {
	t := v.c.Telemetry
	if t.OTLPEndpoint != "" {
		u, err := url.Parse(t.OTLPEndpoint)
		v.check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil,
			"telemetry.otlp_endpoint", fmt.Sprintf("%q is not an OTLP/HTTP URL", redactURL(t.OTLPEndpoint)),
			`use the collector's OTLP/HTTP address such as "http://127.0.0.1:4318" (traces go to its /v1/traces), or leave it empty to turn tracing off`)
	}
	v.check(t.SampleRatio >= 0 && t.SampleRatio <= 1, "telemetry.sample_ratio", fmt.Sprintf("%v is not between 0 and 1", t.SampleRatio),
		"use 1 to record every trace, 0.01 for one in a hundred, 0 for none")
	v.check(!strings.ContainsAny(t.ServiceName, "\r\n"), "telemetry.service_name", "contains a line break", `use a short name such as "shop-web"; empty means app.name`)
}

func (v *validator) validateSecurity() {
	s := v.c.Security
	if csp := s.ContentSecurityPolicy; csp != "" {
		v.check(!strings.ContainsAny(csp, "\r\n"), "security.content_security_policy", "contains a line break", "write the policy on one line")
		if v.c.Profile == Production {
			if bad := unsafeSource(csp); bad != "" {
				v.add("security.content_security_policy", "a development policy is refused in production: it allows "+bad,
					"remove "+bad+", or remove the key to use the framework's nonce-based policy")
			}
		}
	}
	for _, fa := range s.FrameAncestors {
		v.check(fa != "" && !strings.ContainsAny(fa, ";,\r\n "), "security.frame_ancestors",
			fmt.Sprintf("invalid source %q", fa), `use CSP sources such as "'self'" or "https://example.com"`)
	}
	v.check(slices.Contains([]string{"no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}, s.ReferrerPolicy),
		"security.referrer_policy", fmt.Sprintf("unknown or unsafe policy %q", s.ReferrerPolicy), `use "strict-origin-when-cross-origin" or a stricter policy`)
	v.check(slices.Contains([]string{"same-origin", "same-origin-allow-popups", "unsafe-none"}, s.CrossOriginOpenerPolicy),
		"security.cross_origin_opener_policy", fmt.Sprintf("unknown policy %q", s.CrossOriginOpenerPolicy), `use "same-origin", "same-origin-allow-popups" or "unsafe-none"`)
	v.check(!strings.ContainsAny(s.PermissionsPolicy, "\r\n"), "security.permissions_policy", "contains a line break", "write the policy on one line")
	v.check(s.HSTSMaxAge >= 0, "security.hsts_max_age", "must not be negative", `use "0s" to disable HSTS or a duration such as "17520h"`)
}

func (v *validator) validateSession() {
	s := v.c.Session
	v.check(s.Store == "database" || s.Store == "redis" || s.Store == "memory", "session.store",
		fmt.Sprintf("unknown store %q", s.Store), `use "database", "redis" or "memory"`)
	v.check(s.Store != "redis" || v.c.Redis.URL != "", "session.store", `"redis" needs redis.url`, "set redis.url (TRELLIS_REDIS_URL) or use the database store")
	v.check(s.CookieName != "" && !strings.ContainsAny(s.CookieName, " ;,=\t\r\n\"()<>@:/[]?{}"), "session.cookie_name",
		fmt.Sprintf("invalid cookie name %q", s.CookieName), "use letters, digits, '-' and '_'")
	v.check(s.CookieSameSite == "lax" || s.CookieSameSite == "strict", "session.cookie_same_site",
		fmt.Sprintf("unknown value %q", s.CookieSameSite), `use "lax" or "strict" ("none" would send the cookie on cross-site requests)`)
	v.check(s.IdleTimeout > 0, "session.idle_timeout", "must be positive", `use a duration such as "24h"`)
	v.check(s.Lifetime > 0, "session.lifetime", "must be positive", `use a duration such as "168h"`)
	v.check(s.IdleTimeout <= s.Lifetime, "session.idle_timeout", "is longer than session.lifetime", "make the idle timeout at most the lifetime")
	if v.c.Profile == Production {
		v.check(s.CookieSecure, "session.cookie_secure", "is refused in production: the session cookie would travel over plain HTTP",
			"set session.cookie_secure = true and serve over HTTPS (or behind a TLS proxy)")
		v.check(s.Store != "memory", "session.store", `"memory" is refused in production: sessions would vanish on restart and not be shared between processes`,
			`use "database" or "redis"`)
	}
}

func (v *validator) validateAuth() {
	a := v.c.Auth
	v.check(a.HashMemoryKiB >= 1024, "auth.hash_memory_kib", "must be at least 1024", "use 19456 (19 MiB) or more")
	v.check(a.HashIterations >= 1, "auth.hash_iterations", "must be at least 1", "use 2 or more")
	v.check(a.HashParallelism >= 1 && a.HashParallelism <= 255, "auth.hash_parallelism", "must be from 1 to 255", "use 1")
	v.check(a.HashConcurrency >= 0, "auth.hash_concurrency", "must not be negative", "use 0 for half the CPUs")
	v.check(a.ResetTokenTTL >= time.Minute && a.ResetTokenTTL <= 24*time.Hour, "auth.reset_token_ttl", "must be from 1m to 24h (a reset link is as good as the password)",
		`use a duration such as "1h"`)
	v.check(a.VerifyTokenTTL >= time.Minute && a.VerifyTokenTTL <= 30*24*time.Hour, "auth.verify_token_ttl", "must be from 1m to 720h (30 days)",
		`use a duration such as "48h"`)
	if v.c.Profile == Production {
		v.check(a.HashMemoryKiB >= 19456, "auth.hash_memory_kib", "is below the 19456 KiB (19 MiB) minimum refused in production",
			"use 19456 or more")
		v.check(a.HashIterations >= 2, "auth.hash_iterations", "is below 2, refused in production", "use 2 or more")
	}
}

// QueueRE matches a queue name.
var queueRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ParseQueues turns "name:workers" entries into a map.
func ParseQueues(list []string) (map[string]int, error) {
	out := map[string]int{}
	for _, q := range list {
		name, n, ok := strings.Cut(q, ":")
		workers, err := strconv.Atoi(n)
		if !ok || err != nil || workers < 1 || workers > 10000 || !queueRE.MatchString(name) {
			return nil, fmt.Errorf("queue %q is not name:workers (a lower-case name and 1 to 10000 workers)", q)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("queue %q is listed twice", name)
		}
		out[name] = workers
	}
	return out, nil
}

func (v *validator) validateJobs() {
	j := v.c.Jobs
	queues, err := ParseQueues(j.Queues)
	if err != nil {
		v.add("jobs.queues", err.Error(), `use entries such as "default:10"`)
	} else {
		v.check(len(queues) > 0, "jobs.queues", "is empty", `list at least one queue, such as "default:10"`)
	}
	v.check(j.MaxRetries >= 0 && j.MaxRetries <= 100, "jobs.max_retries", "must be from 0 to 100", "use 3")
	v.check(j.Timeout > 0, "jobs.timeout", "must be positive", `use a duration such as "5m"`)
	v.check(j.RetryBase > 0, "jobs.retry_base", "must be positive", `use a duration such as "1s"`)
	v.check(j.RetryMax >= j.RetryBase, "jobs.retry_max", "is shorter than jobs.retry_base", `use a duration such as "1h"`)
	v.check(j.PollInterval >= 10*time.Millisecond, "jobs.poll_interval", "must be at least 10ms", `use a duration such as "1s"`)
	v.check(j.FetchCooldown >= time.Millisecond && j.FetchCooldown <= j.PollInterval, "jobs.fetch_cooldown",
		"must be from 1ms to jobs.poll_interval", `use a duration such as "25ms"`)
	v.check(j.RescueAfter == 0 || j.RescueAfter > j.Timeout, "jobs.rescue_after", "must be longer than jobs.timeout (a job still running would be started twice)",
		"make it longer than the job timeout, or leave it unset to derive it from jobs.timeout")
	v.check(j.CompletedRetention >= time.Minute, "jobs.completed_retention", "must be at least 1m", `use a duration such as "24h"`)
	v.check(j.DeadLetterRetention >= 0, "jobs.dead_letter_retention", "must not be negative", `use "0s" to keep dead jobs until cleared`)
}

func (v *validator) validateRateLimit() {
	rl := v.c.RateLimit
	v.check(rl.Store == "memory" || rl.Store == "redis", "ratelimit.store", fmt.Sprintf("unknown store %q", rl.Store), `use "memory" or "redis"`)
	v.check(rl.Store != "redis" || v.c.Redis.URL != "", "ratelimit.store", `"redis" needs redis.url`, "set redis.url or use the memory store")
	for _, r := range []struct{ key, value string }{{"ratelimit.login", rl.Login}, {"ratelimit.register", rl.Register}, {"ratelimit.password", rl.Password},
		{"ratelimit.reset", rl.Reset}, {"ratelimit.verify", rl.Verify}} {
		if _, err := ratelimit.ParseRate(r.value); err != nil {
			v.add(r.key, fmt.Sprintf("invalid rate %q: %v", r.value, err), `use "N/duration" such as "10/1m"`)
		}
	}
	if u := v.c.Redis.URL; u != "" {
		v.check(strings.HasPrefix(u, "redis://") || strings.HasPrefix(u, "rediss://"), "redis.url",
			fmt.Sprintf("unsupported URL %q", redactURL(u)), `use "redis://host:6379/0" or "rediss://…" for TLS`)
	}
}

// unsafeSource returns the first source in a policy that defeats it: an
// unsafe-* keyword, a bare wildcard or scheme that allows any host, or data:
// for scripts. It returns "" when the policy has none.
func unsafeSource(csp string) string {
	for directive := range strings.SplitSeq(csp, ";") {
		fields := strings.Fields(directive)
		if len(fields) == 0 {
			continue
		}
		name := strings.ToLower(fields[0])
		scripts := name == "script-src" || name == "default-src" || name == "script-src-elem"
		for _, src := range fields[1:] {
			switch strings.ToLower(src) {
			case "'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:":
				return src
			case "data:":
				if scripts {
					return src + " in " + name
				}
			}
		}
	}
	return ""
}

// redactURL hides a password in a URL for error messages.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":***@" + host
	}
	return u
}

type validator struct {
	c    *Config
	errs Errors
}

func (v *validator) check(ok bool, key, problem, fix string) {
	if !ok {
		v.add(key, problem, fix)
	}
}

func (v *validator) add(key, problem, fix string) {
	v.errs = append(v.errs, &Error{Source: v.c.Source(key), Key: key, Problem: problem, Fix: fix})
}
