package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/ratelimit"
)

func TestParseRate(t *testing.T) {
	good := []struct {
		in   string
		want ratelimit.Rate
		str  string
	}{
		{"10/1m", ratelimit.Rate{Limit: 10, Period: time.Minute}, "10/1m"},
		{"5/10m", ratelimit.Rate{Limit: 5, Period: 10 * time.Minute}, "5/10m"},
		{"100/1s", ratelimit.Rate{Limit: 100, Period: time.Second}, "100/1s"},
		{"20/1h", ratelimit.Rate{Limit: 20, Period: time.Hour}, "20/1h"},
		{"3/500ms", ratelimit.Rate{Limit: 3, Period: 500 * time.Millisecond}, "3/500ms"},
		{"1/90s", ratelimit.Rate{Limit: 1, Period: 90 * time.Second}, "1/90s"},
		{"7/1h30m", ratelimit.Rate{Limit: 7, Period: 90 * time.Minute}, "7/90m"},
		{" 10/1m ", ratelimit.Rate{Limit: 10, Period: time.Minute}, "10/1m"},
		{"10/1m burst 20", ratelimit.Rate{Limit: 10, Period: time.Minute, Burst: 20}, "10/1m burst 20"},
		{"10/1s burst 1", ratelimit.Rate{Limit: 10, Period: time.Second, Burst: 1}, "10/1s burst 1"},
	}
	for _, c := range good {
		got, err := ratelimit.ParseRate(c.in)
		if err != nil {
			t.Errorf("ParseRate(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseRate(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("ParseRate(%q).String() = %q, want %q", c.in, s, c.str)
		}
		back, err := ratelimit.ParseRate(got.String())
		if err != nil || back != got {
			t.Errorf("ParseRate(%q) does not round-trip: %+v, %v", got.String(), back, err)
		}
	}

	bad := []string{
		"", "10", "/1m", "0/1m", "-1/1m", "10/0s", "10/-1m", "x/1m", "10/", "10/1y",
		"10/m", "1.5/1m", "10/1m/2", "10 /1m", "10/1m burst", "10/1m burst 0",
		"10/1m burst -2", "10/1m burst x", "10/1m bursts 5", "10/1m burst 5 6",
		"2000000/1s", // period/limit under a microsecond
		"1/1000000h", // window too long
	}
	for _, in := range bad {
		if r, err := ratelimit.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %+v, want an error", in, r)
		}
	}
}

func TestRateParams(t *testing.T) {
	cases := []struct {
		r                ratelimit.Rate
		interval, window int64
		ok               bool
	}{
		{ratelimit.Rate{Limit: 10, Period: time.Second}, 100_000, 1_000_000, true},
		{ratelimit.Rate{Limit: 10, Period: time.Second, Burst: 3}, 100_000, 300_000, true},
		{ratelimit.Rate{Limit: 3, Period: time.Second}, 333_333, 999_999, true},
		{ratelimit.Rate{Limit: 1_000_000, Period: time.Second}, 1, 1_000_000, true},
		{ratelimit.Rate{Limit: 0, Period: time.Second}, 0, 0, false},
		{ratelimit.Rate{Limit: 1, Period: 0}, 0, 0, false},
		{ratelimit.Rate{Limit: 1, Period: time.Second, Burst: -1}, 0, 0, false},
		{ratelimit.Rate{Limit: 1, Period: time.Second, Burst: 1 << 62}, 0, 0, false},
	}
	for _, c := range cases {
		i, w, err := ratelimit.Params(c.r)
		if (err == nil) != c.ok || i != c.interval || w != c.window {
			t.Errorf("%+v.params() = %d, %d, %v; want %d, %d, ok=%v", c.r, i, w, err, c.interval, c.window, c.ok)
		}
	}
}

// Errors say which part of the rate is wrong.
func TestParseRateErrorsExplain(t *testing.T) {
	for in, want := range map[string]string{
		"0/1m":           "N must be a positive integer",
		"-1/1m":          "N must be a positive integer",
		"10/0s":          "the period must be a positive duration",
		"10":             "missing /",
		"10/1m burst 0":  "burst must be a positive integer",
		"10/1m bursts 5": "unexpected text",
	} {
		if _, err := ratelimit.ParseRate(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRate(%q): %v, want an error saying %q", in, err, want)
		}
	}
}
