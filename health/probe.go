package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ProbeURL is the URL a process on the same host uses to check an app
// listening on addr (server.addr): an address that listens on every
// interface (":3000", "0.0.0.0:3000", "[::]:3000") is probed on loopback.
// https picks the scheme. path is the endpoint, such as "/health/ready".
func ProbeURL(addr string, https bool, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("health: server address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + path, nil
}

// Probe asks a running app's health endpoint at url and returns nil when
// it answers 200 within timeout, for container health checks and
// deployment scripts. It does not verify the certificate of an https
// url: the probe checks that the app serves, not who it is, and runs on
// the app's own host.
func Probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a probe of the app on its own host
	}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d: %s", url, res.StatusCode, body)
	}
	return nil
}
