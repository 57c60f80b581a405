package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLayering(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "trellis.toml", `
[server]
addr = "127.0.0.1:4000"
read_timeout = "7s"
[logging]
level = "warn"
`)
	writeFile(t, dir, "trellis.production.toml", `
[server]
addr = "0.0.0.0:5000"
`)
	cfg, err := Load(Options{Path: path, Profile: Production, Env: []string{
		"TRELLIS_LOGGING_LEVEL=error",
		"TRELLIS_SECURITY_FRAME_ANCESTORS='self', https://a.example",
		"TRELLIS_REQUIRE_SERVICES=1",
		"PATH=/bin",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "0.0.0.0:5000" {
		t.Errorf("profile overlay: addr = %q", cfg.Server.Addr)
	}
	if cfg.Server.ReadTimeout != 7*time.Second {
		t.Errorf("file: read_timeout = %v", cfg.Server.ReadTimeout)
	}
	if cfg.Logging.Level != "error" || cfg.Source("logging.level") != "env TRELLIS_LOGGING_LEVEL" {
		t.Errorf("env: level = %q from %q", cfg.Logging.Level, cfg.Source("logging.level"))
	}
	if got := cfg.Security.FrameAncestors; len(got) != 2 || got[0] != "'self'" || got[1] != "https://a.example" {
		t.Errorf("env list: %q", got)
	}
	if cfg.Logging.Format != "json" {
		t.Errorf("production default format = %q", cfg.Logging.Format)
	}
	if cfg.Source("server.read_timeout") != path {
		t.Errorf("source = %q", cfg.Source("server.read_timeout"))
	}
	if cfg.Source("server.idle_timeout") != "default" {
		t.Errorf("default source = %q", cfg.Source("server.idle_timeout"))
	}
}

func TestProfileFromEnvAndMissingOptionalFile(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load(Options{Env: []string{"TRELLIS_ENV=test"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Profile != Test || cfg.Logging.AccessLog {
		t.Errorf("profile %q accesslog %v", cfg.Profile, cfg.Logging.AccessLog)
	}
}

func loadErr(t *testing.T, opts Options) Errors {
	t.Helper()
	if opts.Env == nil {
		opts.Env = []string{}
	}
	_, err := Load(opts)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	if !IsConfigError(err) {
		t.Fatal("IsConfigError false")
	}
	return es
}

func TestErrorsNameSourceKeyAndFix(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file string
		env        []string
		profile    Profile
		want       []string
	}{
		{"unknown key", "[server]\nadress = \"x\"\n", nil, "", []string{"trellis.toml", "server.adress", "unknown key", `did you mean "server.addr"?`}},
		{"unknown section", "[servr]\naddr = \"x\"\n", nil, "", []string{"servr", "unknown section", "did you mean [server]?"}},
		{"bad duration", "[server]\nread_timeout = \"soon\"\n", nil, "", []string{"trellis.toml:2", "server.read_timeout", "invalid duration", `"30s"`}},
		{"wrong type", "[server]\nmax_body_bytes = \"big\"\n", nil, "", []string{"server.max_body_bytes", "whole number"}},
		{"bad syntax", "[server\n", nil, "", []string{"trellis.toml:2", "table name"}},
		{"env bad bool", "", []string{"TRELLIS_SERVER_COMPRESS=maybe"}, "", []string{"env TRELLIS_SERVER_COMPRESS", "invalid boolean", "true or false"}},
		{"env unknown key", "", []string{"TRELLIS_SERVER_ADRESS=x"}, "", []string{"env TRELLIS_SERVER_ADRESS", "no such config key", "TRELLIS_SERVER_ADDR"}},
		{"bad addr", "[server]\naddr = \"nope\"\n", nil, "", []string{"server.addr", "invalid address", "host:port"}},
		{"zero timeout", "", []string{"TRELLIS_SERVER_READ_HEADER_TIMEOUT=0s"}, "", []string{"env TRELLIS_SERVER_READ_HEADER_TIMEOUT", "server.read_header_timeout", "must be positive"}},
		{"bad level", "[logging]\nlevel = \"loud\"\n", nil, "", []string{"logging.level", "debug, info, warn or error"}},
		{"dev csp in production", "[security]\ncontent_security_policy = \"script-src 'self' 'unsafe-inline'\"\n", nil, Production, []string{"security.content_security_policy", "refused in production", "'unsafe-inline'"}},
		{"htmx version", "[htmx]\nversion = 3\n", nil, "", []string{"trellis.toml", "htmx.version", "unsupported htmx version 3", "use 2 (the default) or 4"}},
		{"env htmx version", "", []string{"TRELLIS_HTMX_VERSION=1"}, "", []string{"env TRELLIS_HTMX_VERSION", "htmx.version", "unsupported htmx version 1"}},
		{"env htmx version not a number", "", []string{"TRELLIS_HTMX_VERSION=four"}, "", []string{"env TRELLIS_HTMX_VERSION", "whole number"}},
		{"eval in production", "", []string{"TRELLIS_HTMX_ALLOW_EVAL=true"}, Production, []string{"htmx.allow_eval", "refused in production"}},
		{"tls half set", "[server]\ntls_cert = \"c.pem\"\n", nil, "", []string{"server.tls_cert", "set together"}},
		{"db url", "[database]\nurl = \"mysql://u:secret@h/db\"\n", nil, "", []string{"database.url", "mysql://u:***@h/db"}},
		{"bad profile", "", nil, "staging", []string{"unknown profile", "development, test or production"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "trellis.toml", tc.file)
			es := loadErr(t, Options{Path: path, Profile: tc.profile, Env: tc.env})
			msg := es.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error leaks a password: %q", msg)
			}
		})
	}
}

func TestDevCSPAllowedOutsideProduction(t *testing.T) {
	cfg, err := Load(Options{Profile: Development, Env: []string{"TRELLIS_SECURITY_CONTENT_SECURITY_POLICY=script-src 'self' 'unsafe-eval'", "TRELLIS_CONFIG=" + filepath.Join(t.TempDir(), "none.toml")}})
	if err == nil || !strings.Contains(err.Error(), "cannot read config file") {
		t.Fatalf("explicit missing file must fail, got %v %v", cfg, err)
	}
	cfg, err = Load(Options{Path: writeFile(t, t.TempDir(), "c.toml", ""), Profile: Development, Env: []string{"TRELLIS_SECURITY_CONTENT_SECURITY_POLICY=script-src 'self' 'unsafe-eval'"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.Security.ContentSecurityPolicy, "unsafe-eval") {
		t.Fatal("override not applied")
	}
}

func TestSafeProductionCSPAccepted(t *testing.T) {
	path := writeFile(t, t.TempDir(), "c.toml", "[security]\ncontent_security_policy = \"default-src 'self'; script-src 'self' 'nonce-{nonce}'; img-src 'self' data:\"\n")
	if _, err := Load(Options{Path: path, Profile: Production, Env: []string{}}); err != nil {
		t.Fatal(err)
	}
}

func TestEveryKeyCanBeSetFromEnv(t *testing.T) {
	c := Default(Development)
	for _, k := range c.Keys() {
		if got := envKey(EnvName(k)); got != k {
			t.Errorf("%s -> %s -> %s", k, EnvName(k), got)
		}
		value := map[string]string{"string": "x", "bool": "true", "int": "7", "int64": "7", "[]string": "a,b", "time.Duration": "3s", "float64": "0.5"}[c.fields()[k].Type().String()]
		if value == "" {
			t.Fatalf("%s: no sample value for type %s", k, c.fields()[k].Type())
		}
		if errs := c.loadEnv(map[string]string{EnvName(k): value}); len(errs) > 0 {
			t.Errorf("%s: %v", k, errs)
		}
		if c.Source(k) != "env "+EnvName(k) {
			t.Errorf("%s not recorded as set from env", k)
		}
	}
}

func TestProductionMetricsNeedTokenOrPrivateListener(t *testing.T) {
	cfg := Default(Production)
	if cfg.Metrics.Enabled {
		t.Fatal("production serves metrics by default")
	}
	cfg.Metrics.Enabled = true
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "metrics.enabled") || !strings.Contains(err.Error(), "metrics.token") {
		t.Fatalf("public metrics in production: got %v, want a metrics.enabled error naming the fix", err)
	}
	for name, set := range map[string]func(*Config){
		"token":        func(c *Config) { c.Metrics.Token = strings.Repeat("t", 32) },
		"addr":         func(c *Config) { c.Metrics.Addr = "127.0.0.1:9090" },
		"allow_public": func(c *Config) { c.Metrics.AllowPublic = true },
	} {
		c := Default(Production)
		c.Metrics.Enabled = true
		set(c)
		if err := c.Validate(); err != nil {
			t.Errorf("metrics with %s: %v", name, err)
		}
	}
	c := Default(Development)
	c.Metrics.Addr = c.Server.Addr
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "metrics.addr") {
		t.Errorf("metrics.addr equal to server.addr: got %v", err)
	}
}

func TestHTMXVersion(t *testing.T) {
	if v := Default(Development).HTMX.Version; v != 2 {
		t.Errorf("default htmx.version = %d, want 2", v)
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "trellis.toml", "[htmx]\nversion = 4\n")
	cfg, err := Load(Options{Path: path, Profile: Development, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTMX.Version != 4 || cfg.Source("htmx.version") != path {
		t.Errorf("file: htmx.version = %d from %q", cfg.HTMX.Version, cfg.Source("htmx.version"))
	}
	cfg, err = Load(Options{Path: path, Profile: Production, Env: []string{"TRELLIS_HTMX_VERSION=2"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTMX.Version != 2 || cfg.Source("htmx.version") != "env TRELLIS_HTMX_VERSION" {
		t.Errorf("env: htmx.version = %d from %q", cfg.HTMX.Version, cfg.Source("htmx.version"))
	}
}

func TestStorageValidation(t *testing.T) {
	if err := Default(Production).Validate(); err != nil {
		t.Fatalf("production defaults: %v", err)
	}
	for name, tc := range map[string]struct {
		profile Profile
		set     func(*Storage)
		key     string
	}{
		"driver":      {Development, func(s *Storage) { s.Driver = "ftp" }, "storage.driver"},
		"no endpoint": {Development, func(s *Storage) { s.Driver = "s3"; s.S3Bucket, s.S3AccessKey, s.S3SecretKey = "b", "a", "s" }, "storage.s3_endpoint"},
		"endpoint path": {Development, func(s *Storage) {
			s.Driver, s.S3Endpoint = "s3", "https://h/x"
			s.S3Bucket, s.S3AccessKey, s.S3SecretKey = "b", "a", "s"
		}, "storage.s3_endpoint"},
		"http in prod": {Production, func(s *Storage) {
			s.Driver, s.S3Endpoint = "s3", "http://s3.example.com"
			s.S3Bucket, s.S3AccessKey, s.S3SecretKey = "b", "a", "s"
		}, "storage.s3_endpoint"},
		"no secret": {Production, func(s *Storage) {
			s.Driver, s.S3Endpoint = "s3", "https://s3.example.com"
			s.S3Bucket, s.S3AccessKey = "b", "a"
		}, "storage.s3_secret_key"},
		"no bucket": {Development, func(s *Storage) {
			s.Driver, s.S3Endpoint = "s3", "https://s3.example.com"
			s.S3AccessKey, s.S3SecretKey = "a", "s"
		}, "storage.s3_bucket"},
		"short key":      {Production, func(s *Storage) { s.SigningKey = "short" }, "storage.signing_key"},
		"ttl":            {Development, func(s *Storage) { s.URLTTL = 8 * 24 * time.Hour }, "storage.url_ttl"},
		"request < file": {Development, func(s *Storage) { s.MaxRequestBytes = 10 }, "storage.max_request_bytes"},
		"files":          {Development, func(s *Storage) { s.MaxFiles = 0 }, "storage.max_files"},
		"pixels":         {Development, func(s *Storage) { s.MaxPixels = 0 }, "storage.max_pixels"},
		"cleanup":        {Development, func(s *Storage) { s.CleanupAfter = time.Second }, "storage.cleanup_after"},
	} {
		c := Default(tc.profile)
		tc.set(&c.Storage)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), "fix:") {
			t.Errorf("%s: got %v, want an error on %s with a fix", name, err, tc.key)
		}
	}
	c := Default(Production)
	c.Storage.Driver, c.Storage.S3Endpoint, c.Storage.S3Bucket, c.Storage.S3AccessKey, c.Storage.S3SecretKey = "s3", "http://127.0.0.1:9000", "b", "a", "s"
	c.Storage.SigningKey = strings.Repeat("k", 32)
	if err := c.Validate(); err != nil {
		t.Fatalf("loopback http endpoint in production: %v", err)
	}
}

func TestTelemetryValidation(t *testing.T) {
	c := Default(Development)
	if c.Telemetry.OTLPEndpoint != "" || c.Telemetry.SampleRatio != 1 {
		t.Fatalf("tracing should be off by default and sample everything once on: %+v", c.Telemetry)
	}
	for name, tc := range map[string]struct {
		env []string
		key string
	}{
		"endpoint without scheme": {[]string{"TRELLIS_TELEMETRY_OTLP_ENDPOINT=127.0.0.1:4318"}, "telemetry.otlp_endpoint"},
		"grpc scheme":             {[]string{"TRELLIS_TELEMETRY_OTLP_ENDPOINT=grpc://collector:4317"}, "telemetry.otlp_endpoint"},
		"ratio above one":         {[]string{"TRELLIS_TELEMETRY_SAMPLE_RATIO=1.5"}, "telemetry.sample_ratio"},
		"ratio negative":          {[]string{"TRELLIS_TELEMETRY_SAMPLE_RATIO=-0.1"}, "telemetry.sample_ratio"},
		"ratio not a number":      {[]string{"TRELLIS_TELEMETRY_SAMPLE_RATIO=half"}, "telemetry.sample_ratio"},
	} {
		_, err := Load(Options{Path: writeFile(t, t.TempDir(), "c.toml", ""), Profile: Test, Env: tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: got %v, want an error naming %s", name, err, tc.key)
		}
	}
	path := writeFile(t, t.TempDir(), "c.toml", "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nsample_ratio = 0.01\nservice_name = \"shop\"\n")
	c, err := Load(Options{Path: path, Profile: Production, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Telemetry.OTLPEndpoint != "http://127.0.0.1:4318" || c.Telemetry.SampleRatio != 0.01 || c.Telemetry.ServiceName != "shop" {
		t.Fatalf("telemetry from file: %+v", c.Telemetry)
	}
}
