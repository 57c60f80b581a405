package trellis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
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
// health check reports not ready, the server stops accepting connections and
// lets in-flight requests finish within server.shutdown_timeout, shutdown
// hooks (background workers) stop, and the database closes. Requests still
// running when the grace period ends are cut off. Serve returns nil after a
// clean or forced shutdown, and an error only when serving failed.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	cfg := a.Config.Server
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
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
	a.Logger.Info("shutting down", slog.Duration("grace", cfg.ShutdownTimeout))
	a.Health.SetShuttingDown()
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
