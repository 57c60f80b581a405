// Package config loads Trellis configuration in layers: built-in defaults for
// the chosen profile, then config/trellis.toml (or a path given by flag or
// TRELLIS_CONFIG), then config/trellis.<profile>.toml when it exists, then
// environment variables named TRELLIS_<SECTION>_<KEY>.
//
// Every key is wired to behaviour. Unknown keys, values of the wrong type and
// settings that are insecure for the production profile are reported as
// [Errors] naming the source, the key and the fix; callers stop start-up with
// exit code 2 (see [ExitCode]).
package config

import (
	"time"
)

// Profile selects a set of defaults and validation rules.
type Profile string

// The profiles Trellis knows.
const (
	Development Profile = "development"
	Test        Profile = "test"
	Production  Profile = "production"
)

// Valid reports whether p is one of the known profiles.
func (p Profile) Valid() bool {
	return p == Development || p == Test || p == Production
}

// Config is the whole configuration of a Trellis app. Build one with [Load]
// or [Default]; the zero value is not usable.
type Config struct {
	// Profile is the active profile; it is chosen by flag or TRELLIS_ENV,
	// never by the config file.
	Profile Profile `toml:"-"`

	App       App       `toml:"app"`
	Server    Server    `toml:"server"`
	Database  Database  `toml:"database"`
	Security  Security  `toml:"security"`
	HTMX      HTMX      `toml:"htmx"`
	Logging   Logging   `toml:"logging"`
	Health    Health    `toml:"health"`
	Session   Session   `toml:"session"`
	Auth      Auth      `toml:"auth"`
	CSRF      CSRF      `toml:"csrf"`
	RateLimit RateLimit `toml:"ratelimit"`
	Redis     Redis     `toml:"redis"`
	Jobs      Jobs      `toml:"jobs"`
	Metrics   Metrics   `toml:"metrics"`
	Mail      Mail      `toml:"mail"`
	Storage   Storage   `toml:"storage"`
	Telemetry Telemetry `toml:"telemetry"`
	OAuth     OAuth     `toml:"oauth"`

	// sources maps "section.key" to where its value came from.
	sources map[string]string
}

// App holds settings about the application itself.
type App struct {
	// Name is shown in page titles and logs.
	Name string `toml:"name"`
	// Version is reported by the health endpoints.
	Version string `toml:"version"`
	// DataDir holds the embedded database and other local files.
	DataDir string `toml:"data_dir"`
	// BaseURL is the app's public address, scheme://host[:port] with no
	// path, used for absolute links in mail. Production requires it;
	// elsewhere it defaults to http:// plus server.addr (see
	// Config.BaseURL).
	BaseURL string `toml:"base_url"`
}

// Server holds HTTP server settings.
type Server struct {
	// Addr is the listen address, host:port.
	Addr string `toml:"addr"`
	// ReadHeaderTimeout bounds reading request headers.
	ReadHeaderTimeout time.Duration `toml:"read_header_timeout"`
	// ReadTimeout bounds reading the whole request.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// WriteTimeout bounds writing the response.
	WriteTimeout time.Duration `toml:"write_timeout"`
	// IdleTimeout bounds keep-alive connections waiting for a request.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// RequestTimeout bounds the work of one request: its context is
	// cancelled after this long, so database calls give up and the client
	// gets 504 instead of waiting forever (0 disables).
	RequestTimeout time.Duration `toml:"request_timeout"`
	// ShutdownTimeout is the grace period in-flight requests and
	// background workers get after SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	// DrainDelay is how long the app keeps serving after a shutdown
	// signal with its readiness check failing and keep-alives off, so load
	// balancers stop sending it traffic before its listener closes.
	// Default 0, 5s in production.
	DrainDelay time.Duration `toml:"drain_delay"`
	// MaxBodyBytes caps request bodies; larger bodies get 413.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxHeaderBytes caps the size of request headers.
	MaxHeaderBytes int `toml:"max_header_bytes"`
	// TLSCert and TLSKey, when both set, make the server speak HTTPS.
	TLSCert string `toml:"tls_cert"`
	// TLSKey is the private key file matching TLSCert.
	TLSKey string `toml:"tls_key"`
	// BehindTLSProxy says a TLS-terminating proxy fronts the app, so HSTS is
	// sent although the app itself speaks plain HTTP.
	BehindTLSProxy bool `toml:"behind_tls_proxy"`
	// Compress enables gzip for text responses.
	Compress bool `toml:"compress"`
	// TrustedProxies lists the proxies (IPs or CIDRs) whose
	// X-Forwarded-For entries are believed when finding the client's IP.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Database holds database settings.
type Database struct {
	// URL selects the database: empty means the embedded SQLite file
	// <data_dir>/app.db; "sqlite:PATH" names another SQLite file;
	// "postgres://…" uses PostgreSQL.
	URL string `toml:"url"`
	// MaxOpenConns caps open connections (0 picks a per-driver default).
	MaxOpenConns int `toml:"max_open_conns"`
	// MaxIdleConns caps idle connections kept in the pool.
	MaxIdleConns int `toml:"max_idle_conns"`
	// ConnMaxLifetime recycles connections after this long (0 = never).
	ConnMaxLifetime time.Duration `toml:"conn_max_lifetime"`
	// BusyTimeout is how long SQLite waits for a lock before failing.
	BusyTimeout time.Duration `toml:"busy_timeout"`
	// Migrate applies pending migrations at start-up.
	Migrate bool `toml:"migrate"`
}

// Security holds response security header settings.
type Security struct {
	// ContentSecurityPolicy replaces the framework's nonce-based policy when
	// set. The token {nonce} is replaced by the per-request nonce.
	ContentSecurityPolicy string `toml:"content_security_policy"`
	// FrameAncestors lists who may frame the pages; empty means nobody.
	FrameAncestors []string `toml:"frame_ancestors"`
	// ReferrerPolicy is sent as Referrer-Policy.
	ReferrerPolicy string `toml:"referrer_policy"`
	// PermissionsPolicy is sent as Permissions-Policy.
	PermissionsPolicy string `toml:"permissions_policy"`
	// CrossOriginOpenerPolicy is sent as Cross-Origin-Opener-Policy.
	CrossOriginOpenerPolicy string `toml:"cross_origin_opener_policy"`
	// HSTSMaxAge is the Strict-Transport-Security max-age; HSTS is only sent
	// over TLS or behind a TLS proxy. 0 disables HSTS.
	HSTSMaxAge time.Duration `toml:"hsts_max_age"`
	// HSTSIncludeSubdomains adds includeSubDomains to HSTS.
	HSTSIncludeSubdomains bool `toml:"hsts_include_subdomains"`
	// HSTSPreload adds preload to HSTS.
	HSTSPreload bool `toml:"hsts_preload"`
}

// HTMX holds the htmx client configuration rendered into every full page.
type HTMX struct {
	// Version is the htmx major version the layout serves: 2 (the default)
	// or 4. Both are vendored with the framework; see the README for what
	// differs under htmx 4.
	Version int `toml:"version"`
	// AllowEval lets htmx evaluate JavaScript (hx-on, js: values). It
	// requires 'unsafe-eval' in the CSP and is refused in production.
	AllowEval bool `toml:"allow_eval"`
	// AllowScriptTags lets htmx run <script> tags found in swapped content.
	// htmx 4 has no such option; there trellis.js drops the scripts unless
	// it is true.
	AllowScriptTags bool `toml:"allow_script_tags"`
	// SelfRequestsOnly restricts htmx requests to this origin (htmx 4: the
	// fetch mode "same-origin", else "cors").
	SelfRequestsOnly bool `toml:"self_requests_only"`
	// HistoryCacheSize is how many pages htmx keeps for back navigation
	// (0 disables the history cache). htmx 2 only: htmx 4 has no history
	// cache and fetches the page again on back navigation.
	HistoryCacheSize int `toml:"history_cache_size"`
	// DefaultSwapStyle is the swap used when an element sets none.
	DefaultSwapStyle string `toml:"default_swap_style"`
	// Timeout aborts htmx requests after this long (0 = no timeout).
	Timeout time.Duration `toml:"timeout"`
	// GlobalViewTransitions uses the View Transitions API for every swap.
	GlobalViewTransitions bool `toml:"global_view_transitions"`
}

// Logging holds log settings.
type Logging struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
	// AccessLog logs one line per request.
	AccessLog bool `toml:"access_log"`
}

// Health holds health-check settings.
type Health struct {
	// CheckTimeout bounds each component check.
	CheckTimeout time.Duration `toml:"check_timeout"`
}

// Session holds session cookie and storage settings.
type Session struct {
	// Store is where sessions live: "database" (the app's SQLite or
	// PostgreSQL), "redis" (needs redis.url) or "memory" (one process only).
	Store string `toml:"store"`
	// CookieName names the session cookie.
	CookieName string `toml:"cookie_name"`
	// CookieSecure sends the cookie over HTTPS only. Production refuses
	// false.
	CookieSecure bool `toml:"cookie_secure"`
	// CookieSameSite is "lax" or "strict".
	CookieSameSite string `toml:"cookie_same_site"`
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// Lifetime ends a session this long after it began, however active.
	Lifetime time.Duration `toml:"lifetime"`
}

// Auth holds account settings.
type Auth struct {
	// Registration lets visitors create accounts at /register.
	Registration bool `toml:"registration"`
	// HashMemoryKiB is argon2id's memory cost; production refuses less
	// than 19456 (19 MiB).
	HashMemoryKiB int `toml:"hash_memory_kib"`
	// HashIterations is argon2id's time cost (at least 2 in production).
	HashIterations int `toml:"hash_iterations"`
	// HashParallelism is argon2id's lanes.
	HashParallelism int `toml:"hash_parallelism"`
	// HashConcurrency caps password hashes computed at once, so a login
	// flood cannot starve other requests; 0 means half the CPUs (at least 1).
	HashConcurrency int `toml:"hash_concurrency"`
	// ResetTokenTTL is how long a password-reset link works (default 1h).
	ResetTokenTTL time.Duration `toml:"reset_token_ttl"`
	// VerifyTokenTTL is how long a link that confirms an email address
	// works: the verification mail and the confirmation of a new address
	// (default 48h).
	VerifyTokenTTL time.Duration `toml:"verify_token_ttl"`
}

// CSRF holds cross-site request forgery settings.
type CSRF struct {
	// TrustedOrigins may send unsafe cross-origin requests
	// ("https://admin.example.com").
	TrustedOrigins []string `toml:"trusted_origins"`
	// ExemptPaths are path prefixes (webhooks) that skip CSRF checks.
	ExemptPaths []string `toml:"exempt_paths"`
}

// RateLimit holds rate limits for sensitive endpoints, as "N/duration".
type RateLimit struct {
	// Enabled turns the limits on.
	Enabled bool `toml:"enabled"`
	// Store is "memory" (one process) or "redis" (shared; needs redis.url).
	Store string `toml:"store"`
	// Login limits login attempts per client IP and, separately, per account.
	Login string `toml:"login"`
	// Register limits account creation per client IP.
	Register string `toml:"register"`
	// Password limits password changes per account.
	Password string `toml:"password"`
	// Reset limits password-reset requests per client IP and, separately,
	// per email address asked about (known or not).
	Reset string `toml:"reset"`
	// Verify limits mails an account asks for from its account page: new
	// verification mails and email-address changes, per account.
	Verify string `toml:"verify"`
}

// Redis holds the Redis connection used by Redis-backed stores.
type Redis struct {
	// URL is redis://[user:password@]host:port/db.
	URL string `toml:"url"`
	// KeyPrefix starts every key Trellis writes, so apps can share a server.
	KeyPrefix string `toml:"key_prefix"`
}

// Jobs holds background job settings.
type Jobs struct {
	// Enabled runs workers in this process; false makes it enqueue only
	// (for web-only processes when workers run elsewhere).
	Enabled bool `toml:"enabled"`
	// Queues lists "name:workers" pairs, e.g. ["default:10", "mail:2"].
	Queues []string `toml:"queues"`
	// MaxRetries is how many times a failed job is retried by default.
	MaxRetries int `toml:"max_retries"`
	// Timeout cancels a job's context after this long by default.
	Timeout time.Duration `toml:"timeout"`
	// RetryBase is the first retry's delay; each retry doubles it, with
	// ±20% jitter, up to RetryMax.
	RetryBase time.Duration `toml:"retry_base"`
	// RetryMax caps the delay between retries.
	RetryMax time.Duration `toml:"retry_max"`
	// PollInterval is how often workers look for jobs inserted by other
	// processes when no notification arrives (SQLite has none; in-process
	// inserts wake workers at once).
	PollInterval time.Duration `toml:"poll_interval"`
	// FetchCooldown is the least time between two fetches of a queue: lower
	// picks jobs up sooner, higher batches more jobs per fetch.
	FetchCooldown time.Duration `toml:"fetch_cooldown"`
	// RescueAfter returns jobs left running by a crashed process to the
	// queue after this long; when set it must exceed Timeout. Zero (the
	// default) derives it from Timeout: see RescueDelay.
	RescueAfter time.Duration `toml:"rescue_after"`
	// CompletedRetention keeps finished jobs (and their timings for the
	// percentiles) this long.
	CompletedRetention time.Duration `toml:"completed_retention"`
	// Debug passes River's own debug lines (fetches, completion batches,
	// maintenance) to the log when logging.level is debug too; otherwise
	// River logs only warnings and errors.
	Debug bool `toml:"debug"`
	// DeadLetterRetention keeps dead jobs this long; 0 keeps them until
	// they are retried or cleared.
	DeadLetterRetention time.Duration `toml:"dead_letter_retention"`
}

// Metrics holds the Prometheus endpoint settings.
type Metrics struct {
	// Enabled serves metrics at Path. Default true, false in production,
	// where enabling them needs Token, Addr or AllowPublic.
	Enabled bool `toml:"enabled"`
	// Path is where metrics are served.
	Path string `toml:"path"`
	// Token, when set, must be sent as "Authorization: Bearer <token>".
	Token string `toml:"token"`
	// Addr, when set, serves metrics on their own listener (host:port)
	// instead of on the app's router, so they can stay on a private
	// network.
	Addr string `toml:"addr"`
	// AllowPublic lets production serve metrics on the app's router
	// without a token. Off by default: production refuses that.
	AllowPublic bool `toml:"allow_public"`
}

// Storage holds file storage and upload settings.
type Storage struct {
	// Driver is "local" (files under LocalDir) or "s3" (an S3-compatible
	// bucket).
	Driver string `toml:"driver"`
	// LocalDir is the local store's directory; empty means
	// <app.data_dir>/files.
	LocalDir string `toml:"local_dir"`
	// S3Endpoint is the S3 server's URL, such as
	// "https://s3.eu-west-1.amazonaws.com" (production refuses http://
	// except to a loopback address).
	S3Endpoint string `toml:"s3_endpoint"`
	// S3Bucket is the bucket holding the objects.
	S3Bucket string `toml:"s3_bucket"`
	// S3Region is the bucket's region.
	S3Region string `toml:"s3_region"`
	// S3AccessKey is the access key ID.
	S3AccessKey string `toml:"s3_access_key"`
	// S3SecretKey is the secret access key (set it from the environment:
	// TRELLIS_STORAGE_S3_SECRET_KEY).
	S3SecretKey string `toml:"s3_secret_key"`
	// S3PathStyle addresses the bucket as endpoint/bucket (self-hosted
	// servers) instead of bucket.endpoint.
	S3PathStyle bool `toml:"s3_path_style"`
	// SigningKey signs the expiring URLs of the local store (at least 32
	// characters). Empty means a random key per process outside production
	// (signed URLs stop working on restart) and no signed local URLs in
	// production.
	SigningKey string `toml:"signing_key"`
	// URLTTL is how long a signed URL stays valid (at most 7 days).
	URLTTL time.Duration `toml:"url_ttl"`
	// MaxRequestBytes caps the body of an upload request, all files
	// together (uploads routes use it instead of server.max_body_bytes).
	MaxRequestBytes int64 `toml:"max_request_bytes"`
	// MaxFileBytes is the default size limit of one uploaded file, for
	// fields that set none.
	MaxFileBytes int64 `toml:"max_file_bytes"`
	// MaxFiles caps the files in one upload request.
	MaxFiles int `toml:"max_files"`
	// MaxPixels caps an uploaded image's width × height, checked from its
	// header before it is decoded (decompression bombs).
	MaxPixels int64 `toml:"max_pixels"`
	// CleanupAfter is how old an unfinished upload (or an object with no
	// record) must be before the cleanup job removes it.
	CleanupAfter time.Duration `toml:"cleanup_after"`
	// CleanupSchedule is when the cleanup job runs (cron or "@every 1h").
	CleanupSchedule string `toml:"cleanup_schedule"`
}

// Telemetry holds OpenTelemetry tracing settings. Tracing is off (no
// exporter, a no-op tracer) until OTLPEndpoint is set.
type Telemetry struct {
	// OTLPEndpoint is the OTLP/HTTP collector traces are sent to, such as
	// "http://127.0.0.1:4318" (the exporter posts to its /v1/traces) or a
	// full ".../v1/traces" URL. Empty turns tracing off.
	OTLPEndpoint string `toml:"otlp_endpoint"`
	// SampleRatio is the share of new traces recorded, from 0 to 1; a
	// request that arrives with a sampled parent follows its parent.
	SampleRatio float64 `toml:"sample_ratio"`
	// ServiceName names the service in the trace backend; empty means
	// app.name.
	ServiceName string `toml:"service_name"`
}

// Default returns the built-in defaults for a profile.
func Default(p Profile) *Config {
	c := &Config{
		Profile: p,
		App:     App{Name: "Trellis", Version: "dev", DataDir: "data"},
		Server: Server{
			Addr:              "127.0.0.1:3000",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			RequestTimeout:    30 * time.Second,
			ShutdownTimeout:   30 * time.Second,
			MaxBodyBytes:      2 << 20,
			MaxHeaderBytes:    64 << 10,
			Compress:          true,
		},
		Database: Database{
			BusyTimeout: 5 * time.Second,
			Migrate:     true,
		},
		Security: Security{
			ReferrerPolicy:          "strict-origin-when-cross-origin",
			PermissionsPolicy:       "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
			CrossOriginOpenerPolicy: "same-origin",
			HSTSMaxAge:              2 * 365 * 24 * time.Hour,
			HSTSIncludeSubdomains:   true,
		},
		HTMX: HTMX{
			Version:          2,
			SelfRequestsOnly: true,
			HistoryCacheSize: 10,
			DefaultSwapStyle: "innerHTML",
		},
		Logging: Logging{Level: "info", Format: "text", AccessLog: true},
		Health:  Health{CheckTimeout: 2 * time.Second},
		Session: Session{
			Store:          "database",
			CookieName:     "trellis_session",
			CookieSecure:   true,
			CookieSameSite: "lax",
			IdleTimeout:    24 * time.Hour,
			Lifetime:       7 * 24 * time.Hour,
		},
		Redis: Redis{KeyPrefix: "trellis:"},
		Jobs: Jobs{
			Enabled:            true,
			Queues:             []string{"default:10"},
			MaxRetries:         3,
			Timeout:            5 * time.Minute,
			RetryBase:          time.Second,
			RetryMax:           time.Hour,
			PollInterval:       time.Second,
			FetchCooldown:      25 * time.Millisecond,
			CompletedRetention: 24 * time.Hour,
		},
		Metrics:   Metrics{Enabled: true, Path: "/metrics"},
		Mail:      Mail{OutboxKeep: 500},
		Telemetry: Telemetry{SampleRatio: 1},
		Storage: Storage{
			Driver:          "local",
			S3Region:        "us-east-1",
			URLTTL:          15 * time.Minute,
			MaxRequestBytes: 64 << 20,
			MaxFileBytes:    10 << 20,
			MaxFiles:        10,
			MaxPixels:       40_000_000,
			CleanupAfter:    time.Hour,
			CleanupSchedule: "@every 1h",
		},
		Auth: Auth{Registration: true, HashMemoryKiB: 19456, HashIterations: 2, HashParallelism: 1,
			ResetTokenTTL: time.Hour, VerifyTokenTTL: 48 * time.Hour},
		RateLimit: RateLimit{
			Enabled:  true,
			Store:    "memory",
			Login:    "10/1m",
			Register: "5/10m",
			Password: "5/10m",
			Reset:    "5/15m",
			Verify:   "3/10m",
		},
	}
	switch p {
	case Development:
		c.Logging.Level = "debug"
		c.Session.CookieSecure = false
	case Test:
		c.Session.CookieSecure = false
		c.Server.ShutdownTimeout = 5 * time.Second
		c.Logging.Level = "warn"
		c.Logging.AccessLog = false
	case Production:
		c.Server.Addr = ":3000"
		c.Server.DrainDelay = 5 * time.Second
		c.Logging.Format = "json"
		// Metrics stay off until they are given a token or a private
		// listener (see Validate).
		c.Metrics.Enabled = false
	}
	return c
}

// Source reports where the value of key ("section.key") came from: a file
// path, "env TRELLIS_…", "override" or "default".
func (c *Config) Source(key string) string {
	if s, ok := c.sources[key]; ok {
		return s
	}
	return "default"
}

// SetSource records that key was set programmatically, for example by a
// command-line flag, so validation errors name the right origin.
func (c *Config) SetSource(key, source string) {
	if c.sources == nil {
		c.sources = map[string]string{}
	}
	c.sources[key] = source
}

// RescueMarginMax caps the margin RescueDelay adds to the job timeout.
const RescueMarginMax = time.Minute

// RescueDelay is how long a job may stay running before it is taken to be
// left behind by a dead process and run again: RescueAfter when set,
// otherwise Timeout plus a margin for a cancelled job to return and be
// recorded — as long as Timeout itself, at most RescueMarginMax (a 5m
// timeout gives 6m, a 10s timeout 20s).
func (j Jobs) RescueDelay() time.Duration {
	if j.RescueAfter > 0 {
		return j.RescueAfter
	}
	return j.Timeout + min(j.Timeout, RescueMarginMax)
}
