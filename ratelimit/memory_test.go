package ratelimit_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis/ratelimit"
)

func TestMemoryConcurrentExactBurst(t *testing.T) {
	// A frozen clock, so nothing refills during the test. It takes no lock:
	// a mutex in the clock would order the goroutines and hide a race from
	// the race detector.
	frozen := func() time.Time { return base }
	m := ratelimit.NewMemory(ratelimit.WithClock(frozen))
	rate := ratelimit.Rate{Limit: 10, Period: time.Minute, Burst: 25}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 100 {
				res, err := m.Allow(context.Background(), "hot", rate)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 25 {
		t.Fatalf("%d events allowed, want exactly the burst of 25", n)
	}
}

func TestMemorySweep(t *testing.T) {
	clock := newFakeClock()
	m := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))
	ctx := context.Background()
	short := ratelimit.Rate{Limit: 1, Period: time.Second}
	long := ratelimit.Rate{Limit: 1, Period: time.Hour}

	const flood = 20_000
	for i := range flood {
		if _, err := m.Allow(ctx, fmt.Sprint("flood-", i), short); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Allow(ctx, "long", long); err != nil {
		t.Fatal(err)
	}
	if n := m.Count(); n != flood+1 {
		t.Fatalf("after the flood: %d keys, want %d", n, flood+1)
	}

	// Expired, but the shards swept at the start and a minute has not
	// passed: nothing is removed yet.
	clock.Advance(2 * time.Second)
	for i := range 100 {
		m.Allow(ctx, fmt.Sprint("later-", i), short)
	}
	if n := m.Count(); n != flood+1+100 {
		t.Fatalf("within a minute: %d keys, want %d (no sweep yet)", n, flood+1+100)
	}

	// A minute on, touching each shard sweeps it: only the key with an
	// hour-long window and the fresh keys are left.
	clock.Advance(time.Duration(ratelimit.SweepEvery) * time.Microsecond)
	for i := range 1000 {
		m.Allow(ctx, fmt.Sprint("fresh-", i), short)
	}
	if n := m.Count(); n != 1+1000 {
		t.Fatalf("after the sweep: %d keys, want %d", n, 1+1000)
	}
	// The surviving key kept its state.
	if res, _ := m.Allow(ctx, "long", long); res.Allowed {
		t.Fatalf("the long key lost its state in the sweep: %+v", res)
	}
	// Keys that were swept behave as fresh ones.
	for i := range 100 {
		res, _ := m.Allow(ctx, fmt.Sprint("flood-", i), short)
		if !res.Allowed || res.Remaining != 0 || res.ResetAfter != time.Second {
			t.Fatalf("swept key flood-%d: %+v", i, res)
		}
	}
}

// TestMemoryNoGoroutines checks the limiter starts nothing in the
// background.
func TestMemoryNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	m := ratelimit.NewMemory()
	for i := range 1000 {
		m.Allow(context.Background(), fmt.Sprint(i), ratelimit.Rate{Limit: 1, Period: time.Second})
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after", before, after)
	}
}

func TestMemoryRealClock(t *testing.T) {
	m := ratelimit.NewMemory()
	rate := ratelimit.Rate{Limit: 1, Period: 300 * time.Millisecond}
	ctx := context.Background()
	if res, _ := m.Allow(ctx, "k", rate); !res.Allowed {
		t.Fatalf("first event denied: %+v", res)
	}
	res, _ := m.Allow(ctx, "k", rate)
	if res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 300*time.Millisecond {
		t.Fatalf("second event: %+v, want denied with RetryAfter in (0, 300ms]", res)
	}
	time.Sleep(res.RetryAfter + 10*time.Millisecond)
	if res, _ := m.Allow(ctx, "k", rate); !res.Allowed {
		t.Fatalf("after RetryAfter: %+v", res)
	}
}
