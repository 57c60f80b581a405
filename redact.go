package trellis

import (
	"context"
	"log/slog"
	"strings"
)

// redactPaths wraps a log handler so that "path" attributes under one of
// prefixes lose what follows the prefix: the secret tokens of mailed links
// (/password/reset/{token} and the like) never reach the logs — the access
// log, error logs and the app's own lines alike.
type redactPaths struct {
	slog.Handler
	prefixes []string
}

// withRedactedPaths returns l with token-bearing paths redacted.
func withRedactedPaths(l *slog.Logger, prefixes []string) *slog.Logger {
	if len(prefixes) == 0 {
		return l
	}
	return slog.New(&redactPaths{Handler: l.Handler(), prefixes: prefixes})
}

// redact replaces the secret part of a path attribute.
func (h *redactPaths) redact(a slog.Attr) slog.Attr {
	if a.Key != "path" || a.Value.Kind() != slog.KindString {
		return a
	}
	p := a.Value.String()
	for _, prefix := range h.prefixes {
		if strings.HasPrefix(p, prefix) && len(p) > len(prefix) {
			return slog.String(a.Key, prefix+"[redacted]")
		}
	}
	return a
}

// Handle redacts the record's path attributes, then passes it on.
func (h *redactPaths) Handle(ctx context.Context, r slog.Record) error {
	changed := false
	r.Attrs(func(a slog.Attr) bool {
		if b := h.redact(a); !b.Equal(a) {
			changed = true
			return false
		}
		return true
	})
	if !changed {
		return h.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.redact(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs redacts attributes bound to the logger too.
func (h *redactPaths) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = h.redact(a)
	}
	return &redactPaths{Handler: h.Handler.WithAttrs(out), prefixes: h.prefixes}
}

// WithGroup keeps redacting inside the group.
func (h *redactPaths) WithGroup(name string) slog.Handler {
	return &redactPaths{Handler: h.Handler.WithGroup(name), prefixes: h.prefixes}
}
