package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis/ratelimit"
)

var benchRate = ratelimit.Rate{Limit: 1000, Period: time.Second}

// benchKeys are distinct keys built ahead so that the loop measures Allow,
// not strconv.
var benchKeys = func() []string {
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	return keys
}()

func benchAllow(b *testing.B, l ratelimit.Limiter) {
	ctx := context.Background()
	b.Run("one key", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Allow(ctx, "hot", benchRate); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("many keys", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := l.Allow(ctx, benchKeys[i&4095], benchRate); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("many keys parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1000))
			for pb.Next() {
				if _, err := l.Allow(ctx, benchKeys[i&4095], benchRate); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

func BenchmarkMemoryAllow(b *testing.B) {
	benchAllow(b, ratelimit.NewMemory())
}

func BenchmarkRedisAllow(b *testing.B) {
	client, prefix := redisClient(b)
	benchAllow(b, ratelimit.NewRedis(client, prefix))
}

func BenchmarkMiddleware(b *testing.B) {
	l := ratelimit.NewMemory()
	h := ratelimit.Middleware(l, nil, nil,
		ratelimit.Rule{Name: "ip", Rate: ratelimit.Rate{Limit: 1000, Period: time.Second, Burst: 1 << 30}, Key: constKey("1.2.3.4")},
	)(okHandler)
	w := discardWriter{h: http.Header{}}
	req := httptest.NewRequest("GET", "/", nil)
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}
