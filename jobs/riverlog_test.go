package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
)

// syncBuffer is a bytes.Buffer safe for River's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRiverLogsAtWarnUnlessDebugging runs jobs with the app logging at
// debug level: River's debug lines appear only with jobs.debug.
func TestRiverLogsAtWarnUnlessDebugging(t *testing.T) {
	for _, tc := range []struct {
		name       string
		appLevel   slog.Level
		jobsDebug  bool
		wantDebugs bool
	}{
		{"app debug, jobs.debug off", slog.LevelDebug, false, false},
		{"app info, jobs.debug on", slog.LevelInfo, true, false},
		{"app debug, jobs.debug on", slog.LevelDebug, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := newEngine(t, "sqlite")
			var out syncBuffer
			logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: tc.appLevel})).With("app", "test")
			cfg := config.Default(config.Test).Jobs
			cfg.PollInterval, cfg.FetchCooldown, cfg.Debug = 50*time.Millisecond, 10*time.Millisecond, tc.jobsDebug
			e, err := jobs.New(cfg, d, logger)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Stop(context.Background()) })
			done := make(chan struct{}, 5)
			jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[noteArgs]) error { done <- struct{}{}; return nil })
			ctx := context.Background()
			if err := e.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if _, err := e.Enqueue(ctx, noteArgs{N: i}, nil); err != nil {
					t.Fatal(err)
				}
			}
			for range 5 {
				<-done
			}
			time.Sleep(300 * time.Millisecond) // let the completer flush its batch
			if err := e.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			debugs := strings.Count(out.String(), "level=DEBUG")
			if tc.wantDebugs != (debugs > 0) {
				t.Errorf("%d DEBUG lines, want some: %v\n%.2000s", debugs, tc.wantDebugs, out.String())
			}
		})
	}
}
