package ratelimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trellis-go/trellis/ratelimit"
)

// backend builds a limiter reading the given clock; each call returns one
// with no state shared with earlier calls.
type backend struct {
	name string
	make func(t *testing.T, clock func() time.Time) ratelimit.Limiter
}

func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T, clock func() time.Time) ratelimit.Limiter {
			return ratelimit.NewMemory(ratelimit.WithClock(clock))
		}},
		{"redis", func(t *testing.T, clock func() time.Time) ratelimit.Limiter {
			client, prefix := redisClient(t)
			return ratelimit.NewRedis(client, prefix, ratelimit.WithClock(clock))
		}},
	}
}

const ms = time.Millisecond

// step is one Allow call at offset at from the start.
type step struct {
	at   time.Duration
	key  string
	want ratelimit.Result
}

func allowed(limit, remaining int, reset time.Duration) ratelimit.Result {
	return ratelimit.Result{Allowed: true, Limit: limit, Remaining: remaining, ResetAfter: reset}
}

func denied(limit int, retry, reset time.Duration) ratelimit.Result {
	return ratelimit.Result{Limit: limit, RetryAfter: retry, ResetAfter: reset}
}

var gcraCases = []struct {
	name  string
	rate  ratelimit.Rate
	steps []step
}{
	{
		// 4/1s: T = 250ms, burst 4, window 1s.
		name: "burst then denied then one per interval",
		rate: ratelimit.Rate{Limit: 4, Period: time.Second},
		steps: []step{
			{0, "a", allowed(4, 3, 250*ms)},
			{0, "a", allowed(4, 2, 500*ms)},
			{0, "a", allowed(4, 1, 750*ms)},
			{0, "a", allowed(4, 0, 1000*ms)},
			{0, "a", denied(4, 250*ms, 1000*ms)},
			{0, "a", denied(4, 250*ms, 1000*ms)},
			{100 * ms, "a", denied(4, 150*ms, 900*ms)},
			{250 * ms, "a", allowed(4, 0, 1000*ms)},
			{250 * ms, "a", denied(4, 250*ms, 1000*ms)},
			{499 * ms, "a", denied(4, 1*ms, 751*ms)},
			{500 * ms, "a", allowed(4, 0, 1000*ms)},
		},
	},
	{
		name: "refill after idle",
		rate: ratelimit.Rate{Limit: 4, Period: time.Second},
		steps: []step{
			{0, "a", allowed(4, 3, 250*ms)},
			{0, "a", allowed(4, 2, 500*ms)},
			{0, "a", allowed(4, 1, 750*ms)},
			{0, "a", allowed(4, 0, 1000*ms)},
			// Two intervals later two events fit again.
			{500 * ms, "a", allowed(4, 1, 750*ms)},
			{500 * ms, "a", allowed(4, 0, 1000*ms)},
			{500 * ms, "a", denied(4, 250*ms, 1000*ms)},
			// Once the bucket is full (TAT 1.5s) the key is as good as new.
			{1500 * ms, "a", allowed(4, 3, 250*ms)},
			{5 * time.Second, "a", allowed(4, 3, 250*ms)},
		},
	},
	{
		name: "keys are independent",
		rate: ratelimit.Rate{Limit: 2, Period: time.Second},
		steps: []step{
			{0, "a", allowed(2, 1, 500*ms)},
			{0, "a", allowed(2, 0, 1000*ms)},
			{0, "a", denied(2, 500*ms, 1000*ms)},
			{0, "b", allowed(2, 1, 500*ms)},
			{0, "b", allowed(2, 0, 1000*ms)},
			{0, "b", denied(2, 500*ms, 1000*ms)},
			{200 * ms, "c", allowed(2, 1, 500*ms)},
			{200 * ms, "a", denied(2, 300*ms, 800*ms)},
		},
	},
	{
		// 1/1s burst 3: T = 1s, window 3s.
		name: "burst larger than limit",
		rate: ratelimit.Rate{Limit: 1, Period: time.Second, Burst: 3},
		steps: []step{
			{0, "a", allowed(1, 2, 1000*ms)},
			{0, "a", allowed(1, 1, 2000*ms)},
			{0, "a", allowed(1, 0, 3000*ms)},
			{0, "a", denied(1, 1000*ms, 3000*ms)},
			{1000 * ms, "a", allowed(1, 0, 3000*ms)},
			{3000 * ms, "a", allowed(1, 1, 2000*ms)},
		},
	},
	{
		// 10/1s burst 1: one every 100ms, no bunching.
		name: "burst of one smooths",
		rate: ratelimit.Rate{Limit: 10, Period: time.Second, Burst: 1},
		steps: []step{
			{0, "a", allowed(10, 0, 100*ms)},
			{0, "a", denied(10, 100*ms, 100*ms)},
			{60 * ms, "a", denied(10, 40*ms, 40*ms)},
			{100 * ms, "a", allowed(10, 0, 100*ms)},
			{1000 * ms, "a", allowed(10, 0, 100*ms)},
		},
	},
	{
		// 3/1s: T = 333333µs, rounded down; window 999999µs.
		name: "interval rounded down to microseconds",
		rate: ratelimit.Rate{Limit: 3, Period: time.Second},
		steps: []step{
			{0, "a", allowed(3, 2, 333333*time.Microsecond)},
			{0, "a", allowed(3, 1, 666666*time.Microsecond)},
			{0, "a", allowed(3, 0, 999999*time.Microsecond)},
			{0, "a", denied(3, 333333*time.Microsecond, 999999*time.Microsecond)},
			{333333 * time.Microsecond, "a", allowed(3, 0, 999999*time.Microsecond)},
		},
	},
}

func TestGCRA(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range gcraCases {
				t.Run(c.name, func(t *testing.T) {
					clock := newFakeClock()
					l := b.make(t, clock.Now)
					for i, s := range c.steps {
						clock.Set(base.Add(s.at))
						got, err := l.Allow(context.Background(), s.key, c.rate)
						if err != nil {
							t.Fatalf("step %d: %v", i, err)
						}
						if got != s.want {
							t.Errorf("step %d (at %v, key %q):\n got %+v\nwant %+v", i, s.at, s.key, got, s.want)
						}
					}
				})
			}
		})
	}
}

func TestInvalidRate(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			l := b.make(t, newFakeClock().Now)
			for _, r := range []ratelimit.Rate{{}, {Limit: 1}, {Limit: -1, Period: time.Second}, {Limit: 1, Period: time.Second, Burst: -1}} {
				if _, err := l.Allow(context.Background(), "k", r); err == nil {
					t.Errorf("Allow with %+v: no error", r)
				}
			}
		})
	}
}

// TestBackendsAgree drives both backends through the same long random
// sequence and requires identical results at every step.
func TestBackendsAgree(t *testing.T) {
	clock := newFakeClock()
	var ls []ratelimit.Limiter
	for _, b := range backends() {
		ls = append(ls, b.make(t, clock.Now))
	}
	rates := []ratelimit.Rate{
		{Limit: 3, Period: time.Second},
		{Limit: 5, Period: 2 * time.Second, Burst: 2},
		{Limit: 7, Period: 900 * ms, Burst: 11},
		{Limit: 1, Period: 300 * ms},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	denials, allows := 0, 0
	for i := range 1500 {
		clock.Advance(time.Duration(rng.IntN(150_000)) * time.Microsecond)
		k := rng.IntN(len(rates))
		key := fmt.Sprint("k", k)
		rate := rates[k]
		if rng.IntN(20) == 0 {
			rate = rates[rng.IntN(len(rates))] // a key's rate may change
		}
		var first ratelimit.Result
		for j, l := range ls {
			got, err := l.Allow(context.Background(), key, rate)
			if err != nil {
				t.Fatalf("step %d, backend %d: %v", i, j, err)
			}
			if j == 0 {
				first = got
			} else if got != first {
				t.Fatalf("step %d (%s, %v): backends disagree:\n%+v\n%+v", i, key, rate, first, got)
			}
		}
		if first.Allowed {
			allows++
		} else {
			denials++
		}
	}
	if allows < 100 || denials < 100 {
		t.Fatalf("sequence not exercising both outcomes: %d allowed, %d denied", allows, denials)
	}
}
