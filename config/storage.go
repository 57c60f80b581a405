package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// validateStorage checks the [storage] section; production refuses
// missing secrets and credentials sent in the clear.
func (v *validator) validateStorage() {
	s := v.c.Storage
	prod := v.c.Profile == Production
	v.check(s.Driver == "local" || s.Driver == "s3", "storage.driver", fmt.Sprintf("unknown driver %q", s.Driver), `use "local" or "s3"`)
	if s.Driver == "s3" {
		u, err := url.Parse(s.S3Endpoint)
		switch {
		case s.S3Endpoint == "":
			v.add("storage.s3_endpoint", `is empty but storage.driver is "s3"`, `set the server's URL, such as "https://s3.eu-west-1.amazonaws.com"`)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
			v.add("storage.s3_endpoint", fmt.Sprintf("%q is not an http(s)://host[:port] URL", redactURL(s.S3Endpoint)), `use a URL such as "https://s3.eu-west-1.amazonaws.com" (no path, no credentials)`)
		case prod && u.Scheme == "http" && !loopbackHost(u.Hostname()):
			v.add("storage.s3_endpoint", "is refused in production: http:// would send files and signed requests in the clear", "use https://, or an http:// endpoint on a loopback address")
		}
		v.check(s.S3Bucket != "", "storage.s3_bucket", `is empty but storage.driver is "s3"`, "set the bucket name")
		v.check(s.S3Region != "", "storage.s3_region", "is empty", `set the bucket's region, such as "us-east-1"`)
		v.check(s.S3AccessKey != "", "storage.s3_access_key", `is empty but storage.driver is "s3"`, "set the access key ID (TRELLIS_STORAGE_S3_ACCESS_KEY)")
		v.check(s.S3SecretKey != "", "storage.s3_secret_key", `is empty but storage.driver is "s3"`, "set the secret key from the environment (TRELLIS_STORAGE_S3_SECRET_KEY)")
	}
	// Without a key, production signs no local URLs (serving through the
	// app's authorised route still works); a per-process random key would
	// break signed URLs across restarts and processes.
	v.check(s.SigningKey == "" || len(s.SigningKey) >= 32, "storage.signing_key", "is shorter than 32 characters",
		"set a long random key from the environment (TRELLIS_STORAGE_SIGNING_KEY), e.g. the output of `openssl rand -base64 48`")
	v.check(s.URLTTL >= time.Second && s.URLTTL <= 7*24*time.Hour, "storage.url_ttl", "must be from 1s to 168h (S3 presigns at most 7 days)", `use a duration such as "15m"`)
	v.check(s.Driver != "local" || s.LocalDir == "" || !strings.ContainsRune(s.LocalDir, 0), "storage.local_dir", "contains a NUL byte", "use a directory path")
	v.check(s.MaxFileBytes > 0, "storage.max_file_bytes", "must be positive", "use a size in bytes such as 10485760 (10 MiB)")
	v.check(s.MaxRequestBytes >= s.MaxFileBytes, "storage.max_request_bytes", "is smaller than storage.max_file_bytes", "make it at least the largest file you accept, such as 67108864 (64 MiB)")
	v.check(s.MaxFiles >= 1 && s.MaxFiles <= 1000, "storage.max_files", "must be from 1 to 1000", "use 10")
	v.check(s.MaxPixels >= 1 && s.MaxPixels <= 1_000_000_000, "storage.max_pixels", "must be from 1 to 1000000000", "use 40000000 (40 megapixels)")
	v.check(s.CleanupAfter >= time.Minute, "storage.cleanup_after", "must be at least 1m (uploads in progress would be removed)", `use a duration such as "1h"`)
	v.check(s.CleanupSchedule != "", "storage.cleanup_schedule", "is empty", `use a cron expression or "@every 1h"`)
}

// loopbackHost reports whether host is localhost or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
