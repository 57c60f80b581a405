package ratelimit_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trellis-go/trellis/ratelimit"
	"github.com/trellis-go/trellis/trellistest"
)

func TestRedisConcurrentExactBurst(t *testing.T) {
	client, prefix := redisClient(t)
	frozen := func() time.Time { return base }
	l := ratelimit.NewRedis(client, prefix, ratelimit.WithClock(frozen))
	rate := ratelimit.Rate{Limit: 10, Period: time.Minute, Burst: 15}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 25 {
				res, err := l.Allow(context.Background(), "hot", rate)
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
	if n := allowed.Load(); n != 15 {
		t.Fatalf("%d events allowed, want exactly the burst of 15", n)
	}
}

// TestRedisExpiry uses the server's clock (no WithClock) and checks the key
// disappears once its bucket is full again.
func TestRedisExpiry(t *testing.T) {
	client, prefix := redisClient(t)
	l := ratelimit.NewRedis(client, prefix)
	ctx := context.Background()
	rate := ratelimit.Rate{Limit: 2, Period: 600 * time.Millisecond} // T = 300ms
	var last ratelimit.Result
	for i := range 2 {
		res, err := l.Allow(ctx, "k", rate)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed {
			t.Fatalf("event %d denied: %+v", i, res)
		}
		last = res
	}
	if last.ResetAfter <= 300*time.Millisecond || last.ResetAfter > 600*time.Millisecond {
		t.Fatalf("ResetAfter = %v, want in (300ms, 600ms]", last.ResetAfter)
	}
	pttl, err := client.PTTL(ctx, prefix+"k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > 600*time.Millisecond {
		t.Fatalf("PTTL = %v, want in (0, 600ms]", pttl)
	}
	if res, _ := l.Allow(ctx, "k", rate); res.Allowed {
		t.Fatalf("third event allowed: %+v", res)
	}
	time.Sleep(last.ResetAfter + 50*time.Millisecond)
	n, err := client.Exists(ctx, prefix+"k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		pttl, _ := client.PTTL(ctx, prefix+"k").Result()
		t.Fatalf("key still exists after its bucket refilled (PTTL %v)", pttl)
	}
	res, err := l.Allow(ctx, "k", rate)
	if err != nil || !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after expiry: %+v, %v; want a fresh bucket", res, err)
	}
}

// TestRedisStoresExactTAT guards against Lua's 14-digit number formatting:
// the stored TAT must be the exact microsecond.
func TestRedisStoresExactTAT(t *testing.T) {
	client, prefix := redisClient(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 123457000, time.UTC)
	l := ratelimit.NewRedis(client, prefix, ratelimit.WithClock(func() time.Time { return now }))
	rate := ratelimit.Rate{Limit: 3, Period: time.Second} // T = 333333µs
	if _, err := l.Allow(context.Background(), "k", rate); err != nil {
		t.Fatal(err)
	}
	got, err := client.Get(context.Background(), prefix+"k").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if want := now.UnixMicro() + 333333; got != want {
		t.Fatalf("stored TAT %d, want %d", got, want)
	}
}

func TestRedisError(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: trellistest.FreeAddr(t), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	l := ratelimit.NewRedis(client, "x:")
	_, err := l.Allow(context.Background(), "k", ratelimit.Rate{Limit: 1, Period: time.Second})
	if err == nil || !strings.HasPrefix(err.Error(), "ratelimit: redis:") {
		t.Fatalf("err = %v, want a ratelimit: redis: error", err)
	}
}
