package trellis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// Run listens on server.addr and serves until ctx is cancelled or the
// process receives SIGINT or SIGTERM, then shuts down gracefully (see Serve).
func (a *App) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", a.Config.Server.Addr)
	if err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("trellis: listening on %s: %w", a.Config.Server.Addr, err)
	}
	return a.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then shuts down gracefully: the
// health check reports not ready while the app keeps serving for
// server.drain_delay, each answer closing its connection, then the server stops accepting
// connections, closes idle ones and lets in-flight requests finish within
// server.shutdown_timeout, shutdown hooks (background workers, which finish
// their running jobs in the same grace period) stop, and the database
// closes. Requests still
// running when the grace period ends are cut off. Serve returns nil after a
// clean or forced shutdown, and an error only when serving failed.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	cfg := a.Config.Server
	// While draining, every answer closes its connection, so clients
	// reconnect elsewhere. Idle keep-alive connections stay open until
	// Shutdown: closing them at once (as SetKeepAlivesEnabled(false)
	// does) races with a load balancer that still routes here and sends a
	// request on one, and a POST lost that way is not retried.
	var draining atomic.Bool
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if draining.Load() {
				w.Header().Set("Connection", "close")
			}
			a.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:         TLSConfig(),
	}
	if err := a.Start(ctx); err != nil {
		_ = ln.Close()
		_ = a.Close(context.Background())
		return err
	}
	if a.metrics != nil && a.Config.Metrics.Addr != "" {
		stopMetrics, err := a.serveMetrics(ctx)
		if err != nil {
			_ = ln.Close()
			_ = a.Close(context.Background())
			return err
		}
		defer stopMetrics()
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	a.Logger.Info("listening", slog.String("url", scheme+"://"+displayAddr(ln.Addr())),
		slog.String("profile", string(a.Config.Profile)), slog.String("version", a.Config.App.Version))

	served := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			served <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			served <- srv.Serve(ln)
		}
	}()

	var serveErr error
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("trellis: serving: %w", err)
		}
	case <-ctx.Done():
	}

	start := time.Now()
	a.Logger.Info("shutting down", slog.Duration("drain", cfg.DrainDelay), slog.Duration("grace", cfg.ShutdownTimeout))
	a.Health.SetShuttingDown()
	if serveErr == nil && cfg.DrainDelay > 0 {
		// Keep serving while load balancers notice the failing readiness
		// check.
		draining.Store(true)
		time.Sleep(cfg.DrainDelay)
	}
	graceCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(graceCtx); err != nil {
		a.Logger.Warn("grace period ended with requests in flight; closing them", slog.Any("error", err))
		_ = srv.Close()
	}
	if err := a.Close(graceCtx); err != nil {
		a.Logger.Error("shutdown", slog.Any("error", err))
	}
	a.Logger.Info("stopped", slog.Duration("took", time.Since(start)))
	return serveErr
}

// TLSConfig is the TLS configuration Serve uses for server.tls_cert: TLS
// 1.2 at least, and for TLS 1.2 only forward-secret AEAD cipher suites
// (ECDHE with AES-GCM or ChaCha20-Poly1305; no CBC, no RSA key exchange).
// TLS 1.3 suites are not configurable in Go and are all AEAD. Curves:
// X25519 (with the post-quantum hybrid Go prefers) and P-256.
func TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
	}
}

// serveMetrics serves the metrics endpoint on its own listener
// (metrics.addr) until the returned function is called.
func (a *App) serveMetrics(ctx context.Context) (func(), error) {
	cfg := a.Config
	ln, err := net.Listen("tcp", cfg.Metrics.Addr)
	if err != nil {
		return nil, fmt.Errorf("trellis: listening for metrics on %s (metrics.addr): %w", cfg.Metrics.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+cfg.Metrics.Path, a.metrics)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { _ = srv.Serve(ln) }()
	a.Logger.Info("serving metrics", slog.String("url", "http://"+displayAddr(ln.Addr())+cfg.Metrics.Path))
	return func() { _ = srv.Close() }, nil
}

// displayAddr makes a wildcard listen address clickable in logs.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
