package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-go/trellis/ratelimit"
)

// fakeLimiter answers from a function and records the keys it was asked.
type fakeLimiter struct {
	mu    sync.Mutex
	keys  []string
	allow func(key string, rate ratelimit.Rate) (ratelimit.Result, error)
}

func (f *fakeLimiter) Allow(_ context.Context, key string, rate ratelimit.Rate) (ratelimit.Result, error) {
	f.mu.Lock()
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	return f.allow(key, rate)
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte("ok"))
})

func byHeader(name string) ratelimit.KeyFunc {
	return func(r *http.Request) string { return r.Header.Get(name) }
}

func constKey(k string) ratelimit.KeyFunc {
	return func(*http.Request) string { return k }
}

func deny429(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
	http.Error(w, "slow down", http.StatusTooManyRequests)
}

func fail503(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, "limiter down: "+err.Error(), http.StatusServiceUnavailable)
}

func serve(h http.Handler, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func wantHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v || (v == "" && len(h.Values(k)) > 0) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestMiddlewareAllowedAndDenied(t *testing.T) {
	clock := newFakeClock()
	l := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))
	rate := ratelimit.Rate{Limit: 2, Period: time.Minute} // T = 30s
	h := ratelimit.Middleware(l, deny429, fail503,
		ratelimit.Rule{Name: "ip", Rate: rate, Key: byHeader("X-Client")})(okHandler)
	client := map[string]string{"X-Client": "1.2.3.4"}

	rec := serve(h, client)
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Fatalf("first: %d %q", rec.Code, rec.Body)
	}
	wantHeaders(t, rec.Header(), map[string]string{
		"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "30",
		"RateLimit-Policy": "2;w=60", "Retry-After": "",
	})

	rec = serve(h, client)
	if rec.Code != 200 {
		t.Fatalf("second: %d", rec.Code)
	}
	wantHeaders(t, rec.Header(), map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "60", "Retry-After": ""})

	clock.Advance(500 * time.Millisecond)
	rec = serve(h, client)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "slow down") {
		t.Fatalf("third: %d %q, want onDenied's 429", rec.Code, rec.Body)
	}
	// RetryAfter 29.5s and ResetAfter 59.5s, rounded up.
	wantHeaders(t, rec.Header(), map[string]string{
		"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "60",
		"RateLimit-Policy": "2;w=60", "Retry-After": "30",
	})

	// Another client has its own bucket.
	if rec := serve(h, map[string]string{"X-Client": "5.6.7.8"}); rec.Code != 200 {
		t.Fatalf("other client: %d", rec.Code)
	}

	clock.Advance(29500 * time.Millisecond)
	if rec := serve(h, client); rec.Code != 200 {
		t.Fatalf("after Retry-After: %d", rec.Code)
	}
}

func TestMiddlewareOnDeniedSeesResult(t *testing.T) {
	clock := newFakeClock()
	l := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))
	var got ratelimit.Result
	var headerSeen string
	onDenied := func(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
		got = res
		headerSeen = w.Header().Get("Retry-After") // SetHeaders ran first
		w.WriteHeader(http.StatusTooManyRequests)
	}
	h := ratelimit.Middleware(l, onDenied, nil,
		ratelimit.Rule{Name: "r", Rate: ratelimit.Rate{Limit: 1, Period: 10 * time.Second}, Key: constKey("k")})(okHandler)
	serve(h, nil)
	serve(h, nil)
	if got.Allowed || got.RetryAfter != 10*time.Second || headerSeen != "10" {
		t.Fatalf("onDenied got %+v with Retry-After %q", got, headerSeen)
	}
}

func TestMiddlewareDefaultOnDenied(t *testing.T) {
	l := ratelimit.NewMemory(ratelimit.WithClock(newFakeClock().Now))
	h := ratelimit.Middleware(l, nil, nil,
		ratelimit.Rule{Name: "r", Rate: ratelimit.Rate{Limit: 1, Period: time.Second}, Key: constKey("k")})(okHandler)
	serve(h, nil)
	if rec := serve(h, nil); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("%d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestMiddlewareMostRestrictive(t *testing.T) {
	burst := ratelimit.Rule{Name: "burst", Rate: ratelimit.Rate{Limit: 100, Period: time.Minute}, Key: constKey("k")}
	daily := ratelimit.Rule{Name: "daily", Rate: ratelimit.Rate{Limit: 3, Period: 24 * time.Hour}, Key: constKey("k")}
	for _, order := range [][]ratelimit.Rule{{burst, daily}, {daily, burst}} {
		l := ratelimit.NewMemory(ratelimit.WithClock(newFakeClock().Now))
		h := ratelimit.Middleware(l, deny429, fail503, order...)(okHandler)
		rec := serve(h, nil)
		wantHeaders(t, rec.Header(), map[string]string{
			"RateLimit-Limit": "3", "RateLimit-Remaining": "2", "RateLimit-Policy": "3;w=86400", "RateLimit-Reset": "28800",
		})
		serve(h, nil)
		serve(h, nil)
		rec = serve(h, nil)
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("fourth request: %d", rec.Code)
		}
		wantHeaders(t, rec.Header(), map[string]string{"RateLimit-Limit": "3", "Retry-After": "28800"})
	}
}

func TestMiddlewareDenialStopsLaterRules(t *testing.T) {
	f := &fakeLimiter{allow: func(key string, rate ratelimit.Rate) (ratelimit.Result, error) {
		if strings.HasPrefix(key, "first:") {
			return ratelimit.Result{Limit: rate.Limit, RetryAfter: time.Second, ResetAfter: time.Second}, nil
		}
		return ratelimit.Result{Allowed: true, Limit: rate.Limit}, nil
	}}
	rate := ratelimit.Rate{Limit: 1, Period: time.Second}
	h := ratelimit.Middleware(f, deny429, fail503,
		ratelimit.Rule{Name: "first", Rate: rate, Key: constKey("k")},
		ratelimit.Rule{Name: "second", Rate: rate, Key: constKey("k")})(okHandler)
	if rec := serve(h, nil); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("%d", rec.Code)
	}
	if len(f.keys) != 1 || f.keys[0] != "first:k" {
		t.Fatalf("keys asked: %q, want only first:k", f.keys)
	}
}

func TestMiddlewareKeysNamespaced(t *testing.T) {
	f := &fakeLimiter{allow: func(key string, rate ratelimit.Rate) (ratelimit.Result, error) {
		return ratelimit.Result{Allowed: true, Limit: rate.Limit, Remaining: 5}, nil
	}}
	rate := ratelimit.Rate{Limit: 10, Period: time.Second}
	h := ratelimit.Middleware(f, deny429, fail503,
		ratelimit.Rule{Name: "login", Rate: rate, Key: constKey("alice")},
		ratelimit.Rule{Name: "api", Rate: rate, Key: constKey("alice")})(okHandler)
	serve(h, nil)
	if strings.Join(f.keys, ",") != "login:alice,api:alice" {
		t.Fatalf("keys asked: %q", f.keys)
	}

	// With a real limiter the two rules really have separate buckets.
	l := ratelimit.NewMemory(ratelimit.WithClock(newFakeClock().Now))
	one := ratelimit.Rate{Limit: 1, Period: time.Minute}
	h = ratelimit.Middleware(l, deny429, fail503,
		ratelimit.Rule{Name: "a", Rate: one, Key: constKey("k")})(okHandler)
	h2 := ratelimit.Middleware(l, deny429, fail503,
		ratelimit.Rule{Name: "b", Rate: one, Key: constKey("k")})(okHandler)
	if serve(h, nil).Code != 200 || serve(h2, nil).Code != 200 {
		t.Fatal("rules a and b share a bucket")
	}
	if serve(h, nil).Code != 429 || serve(h2, nil).Code != 429 {
		t.Fatal("second request not denied")
	}
}

func TestMiddlewareEmptyKeySkips(t *testing.T) {
	f := &fakeLimiter{allow: func(key string, rate ratelimit.Rate) (ratelimit.Result, error) {
		t.Errorf("limiter asked about %q", key)
		return ratelimit.Result{}, nil
	}}
	h := ratelimit.Middleware(f, deny429, fail503,
		ratelimit.Rule{Name: "user", Rate: ratelimit.Rate{Limit: 1, Period: time.Second}, Key: byHeader("X-User")})(okHandler)
	rec := serve(h, nil)
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	wantHeaders(t, rec.Header(), map[string]string{"RateLimit-Limit": "", "RateLimit-Remaining": ""})
}

func TestMiddlewareOnError(t *testing.T) {
	boom := errors.New("connection refused")
	failing := &fakeLimiter{allow: func(string, ratelimit.Rate) (ratelimit.Result, error) {
		return ratelimit.Result{}, boom
	}}
	rule := ratelimit.Rule{Name: "r", Rate: ratelimit.Rate{Limit: 1, Period: time.Second}, Key: constKey("k")}

	t.Run("fail closed", func(t *testing.T) {
		var gotErr error
		onError := func(w http.ResponseWriter, r *http.Request, err error) {
			gotErr = err
			fail503(w, r, err)
		}
		rec := serve(ratelimit.Middleware(failing, deny429, onError, rule)(okHandler), nil)
		if rec.Code != http.StatusServiceUnavailable || !errors.Is(gotErr, boom) {
			t.Fatalf("%d %q, onError got %v", rec.Code, rec.Body, gotErr)
		}
		if strings.Contains(rec.Body.String(), "ok") {
			t.Fatal("handler ran after onError answered")
		}
	})

	t.Run("fail open", func(t *testing.T) {
		called := 0
		logOnly := func(w http.ResponseWriter, r *http.Request, err error) { called++ }
		ok := &fakeLimiter{allow: func(key string, rate ratelimit.Rate) (ratelimit.Result, error) {
			return ratelimit.Result{Allowed: true, Limit: rate.Limit, Remaining: 7}, nil
		}}
		rules := []ratelimit.Rule{rule, {Name: "other", Rate: ratelimit.Rate{Limit: 9, Period: time.Second}, Key: constKey("k")}}
		var mixed ratelimit.Limiter = limiterFunc(func(ctx context.Context, key string, rate ratelimit.Rate) (ratelimit.Result, error) {
			if strings.HasPrefix(key, "r:") {
				return failing.Allow(ctx, key, rate)
			}
			return ok.Allow(ctx, key, rate)
		})
		rec := serve(ratelimit.Middleware(mixed, deny429, logOnly, rules...)(okHandler), nil)
		if rec.Code != 200 || rec.Body.String() != "ok" || called != 1 {
			t.Fatalf("%d %q, onError called %d times", rec.Code, rec.Body, called)
		}
		// The rule that worked still reports its headers.
		wantHeaders(t, rec.Header(), map[string]string{"RateLimit-Limit": "9", "RateLimit-Remaining": "7"})
	})

	t.Run("nil onError fails open", func(t *testing.T) {
		rec := serve(ratelimit.Middleware(failing, deny429, nil, rule)(okHandler), nil)
		if rec.Code != 200 || rec.Body.String() != "ok" {
			t.Fatalf("%d %q", rec.Code, rec.Body)
		}
	})
}

type limiterFunc func(ctx context.Context, key string, rate ratelimit.Rate) (ratelimit.Result, error)

func (f limiterFunc) Allow(ctx context.Context, key string, rate ratelimit.Rate) (ratelimit.Result, error) {
	return f(ctx, key, rate)
}

func TestMiddlewarePanicsOnBadRules(t *testing.T) {
	l := ratelimit.NewMemory()
	rate := ratelimit.Rate{Limit: 1, Period: time.Second}
	cases := map[string][]ratelimit.Rule{
		"no name":    {{Rate: rate, Key: constKey("k")}},
		"colon":      {{Name: "a:b", Rate: rate, Key: constKey("k")}},
		"duplicate":  {{Name: "a", Rate: rate, Key: constKey("k")}, {Name: "a", Rate: rate, Key: constKey("k")}},
		"nil key":    {{Name: "a", Rate: rate}},
		"zero rate":  {{Name: "a", Key: constKey("k")}},
		"bad period": {{Name: "a", Rate: ratelimit.Rate{Limit: 1}, Key: constKey("k")}},
	}
	for name, rules := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			ratelimit.Middleware(l, nil, nil, rules...)
		})
	}
}

func TestSetHeaders(t *testing.T) {
	cases := []struct {
		rate ratelimit.Rate
		res  ratelimit.Result
		want map[string]string
	}{
		{
			ratelimit.Rate{Limit: 10, Period: time.Minute},
			ratelimit.Result{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 6 * time.Second},
			map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "6", "RateLimit-Policy": "10;w=60", "Retry-After": ""},
		},
		{
			ratelimit.Rate{Limit: 10, Period: time.Minute, Burst: 20},
			ratelimit.Result{Limit: 10, RetryAfter: 1200 * time.Millisecond, ResetAfter: 119001 * time.Millisecond},
			map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "120", "RateLimit-Policy": "10;w=60;burst=20", "Retry-After": "2"},
		},
		{
			ratelimit.Rate{Limit: 5, Period: 500 * time.Millisecond, Burst: 5},
			ratelimit.Result{Limit: 5, RetryAfter: time.Microsecond, ResetAfter: 400 * time.Millisecond},
			map[string]string{"RateLimit-Policy": "5;w=1", "RateLimit-Reset": "1", "Retry-After": "1"},
		},
		{
			ratelimit.Rate{Limit: 5, Period: time.Second},
			ratelimit.Result{Allowed: true, Limit: 5, Remaining: 5},
			map[string]string{"RateLimit-Remaining": "5", "RateLimit-Reset": "0", "Retry-After": ""},
		},
	}
	for i, c := range cases {
		h := http.Header{}
		ratelimit.SetHeaders(h, c.rate, c.res)
		for k, v := range c.want {
			if got := h.Get(k); got != v {
				t.Errorf("case %d: %s = %q, want %q", i, k, got, v)
			}
		}
	}
}
