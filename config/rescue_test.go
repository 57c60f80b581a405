package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
)

// TestRescueDelayFollowsTheJobTimeout: unset, the rescue delay is the job
// timeout plus a margin as long as the timeout, capped at a minute; set,
// it is honoured and must exceed the timeout.
func TestRescueDelayFollowsTheJobTimeout(t *testing.T) {
	for _, c := range []struct{ timeout, rescue, want time.Duration }{
		{5 * time.Minute, 0, 6 * time.Minute}, // the default
		{10 * time.Second, 0, 20 * time.Second},
		{2 * time.Hour, 0, 2*time.Hour + time.Minute},
		{time.Minute, 15 * time.Minute, 15 * time.Minute},
	} {
		j := config.Default(config.Production).Jobs
		j.Timeout, j.RescueAfter = c.timeout, c.rescue
		if got := j.RescueDelay(); got != c.want {
			t.Errorf("timeout %v, rescue_after %v: rescue delay %v, want %v", c.timeout, c.rescue, got, c.want)
		}
	}
	if d := config.Default(config.Production).Jobs.RescueDelay(); d >= 15*time.Minute {
		t.Errorf("default rescue delay %v: crashed jobs wait as long as before", d)
	}
	for _, c := range []struct {
		rescue time.Duration
		ok     bool
	}{{0, true}, {6 * time.Minute, true}, {5 * time.Minute, false}, {time.Minute, false}, {-time.Second, false}} {
		cfg := config.Default(config.Test)
		cfg.Jobs.RescueAfter = c.rescue
		err := cfg.Validate()
		if bad := err != nil && strings.Contains(err.Error(), "jobs.rescue_after"); bad == c.ok {
			t.Errorf("rescue_after %v with a 5m timeout: %v", c.rescue, err)
		}
	}
}
