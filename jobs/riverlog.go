package jobs

import (
	"context"
	"log/slog"
)

// riverLogger is the logger River gets. River reports every fetch,
// completion batch and maintenance pass at debug level, which drowns an
// app's own debug lines, so River's records below Warn are dropped unless
// job debugging is asked for (jobs.debug) and the app logs at debug level.
func riverLogger(l *slog.Logger, debug bool) *slog.Logger {
	if debug && l.Enabled(context.Background(), slog.LevelDebug) {
		return l
	}
	return slog.New(&minLevelHandler{next: l.Handler(), min: slog.LevelWarn})
}

// minLevelHandler passes records at or above min to next.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Level
}

func (h *minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.next.Enabled(ctx, level)
}

func (h *minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &minLevelHandler{next: h.next.WithAttrs(attrs), min: h.min}
}

func (h *minLevelHandler) WithGroup(name string) slog.Handler {
	return &minLevelHandler{next: h.next.WithGroup(name), min: h.min}
}
