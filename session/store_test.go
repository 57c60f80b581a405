package session

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/internal/testservices"
)

// backends runs fn against a fresh store of every kind: memory, SQLite,
// PostgreSQL and Redis.
func backends(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Run("memory", func(t *testing.T) { fn(t, NewMemory()) })
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default(config.Test).Database
			if name == "postgres" {
				cfg.URL = testservices.PostgresURL(t)
			}
			d, err := db.Open(context.Background(), cfg, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			if _, err := d.Migrate(context.Background(), nil, db.Framework()); err != nil {
				t.Fatal(err)
			}
			fn(t, NewSQL(d))
		})
	}
	t.Run("redis", func(t *testing.T) {
		url, prefix := testservices.RedisURL(t)
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(opts)
		t.Cleanup(func() {
			ctx := context.Background()
			if keys, _ := client.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
				client.Del(ctx, keys...)
			}
			_ = client.Close()
		})
		fn(t, NewRedis(client, prefix))
	})
}

func mustLoad(t *testing.T, b Backend, token string) (map[string][]byte, time.Time) {
	t.Helper()
	values, expiry, found, err := b.Load(context.Background(), token)
	if err != nil || !found {
		t.Fatalf("Load(%s): found=%v err=%v", token, found, err)
	}
	return values, expiry
}

func notFound(t *testing.T, b Backend, token, why string) {
	t.Helper()
	if values, _, found, err := b.Load(context.Background(), token); found || err != nil || values != nil {
		t.Errorf("%s: Load found=%v values=%v err=%v", why, found, values, err)
	}
}

func sameValues(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if !maps.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("%s: values %q, want %q", what, got, want)
	}
}

// TestBackends is the store-level contract every Backend meets.
func TestBackends(t *testing.T) {
	backends(t, func(t *testing.T, b Backend) {
		ctx := context.Background()
		// Expiries are kept to the millisecond.
		expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)

		t.Run("save and load", func(t *testing.T) {
			want := map[string][]byte{"user": []byte("alice"), "bin": {0, 0xff, '\n', 0}, "empty": {}}
			if err := b.Save(ctx, "t-save", want, expiry); err != nil {
				t.Fatal(err)
			}
			got, exp := mustLoad(t, b, "t-save")
			sameValues(t, "loaded", got, want)
			if !exp.Equal(expiry) {
				t.Errorf("expiry %v, want %v", exp, expiry)
			}
			notFound(t, b, "t-never-saved", "unknown token")
			// Loaded maps are copies: changing one changes nothing stored.
			got["user"] = []byte("mallory")
			again, _ := mustLoad(t, b, "t-save")
			sameValues(t, "after changing a loaded map", again, want)
		})

		t.Run("save replaces the whole session", func(t *testing.T) {
			if err := b.Save(ctx, "t-replace", map[string][]byte{"a": []byte("1"), "b": []byte("2")}, expiry); err != nil {
				t.Fatal(err)
			}
			later := expiry.Add(time.Minute)
			if err := b.Save(ctx, "t-replace", map[string][]byte{"c": []byte("3")}, later); err != nil {
				t.Fatal(err)
			}
			got, exp := mustLoad(t, b, "t-replace")
			sameValues(t, "replaced", got, map[string][]byte{"c": []byte("3")})
			if !exp.Equal(later) {
				t.Errorf("expiry %v, want %v", exp, later)
			}
		})

		t.Run("apply merges key by key", func(t *testing.T) {
			if err := b.Save(ctx, "t-apply", map[string][]byte{"keep": []byte("k"), "old": []byte("o"), "gone": []byte("g")}, expiry); err != nil {
				t.Fatal(err)
			}
			// Two requests' deltas, each from the same snapshot: both land.
			if ok, err := b.Apply(ctx, "t-apply", map[string][]byte{"a": []byte("from A"), "old": []byte("new")}, nil, expiry); !ok || err != nil {
				t.Fatalf("Apply A: %v %v", ok, err)
			}
			moved := expiry.Add(30 * time.Minute)
			if ok, err := b.Apply(ctx, "t-apply", map[string][]byte{"b": []byte("from B")}, []string{"gone", "never-there"}, moved); !ok || err != nil {
				t.Fatalf("Apply B: %v %v", ok, err)
			}
			got, exp := mustLoad(t, b, "t-apply")
			sameValues(t, "merged", got, map[string][]byte{"keep": []byte("k"), "old": []byte("new"), "a": []byte("from A"), "b": []byte("from B")})
			if !exp.Equal(moved) {
				t.Errorf("expiry %v, want %v", exp, moved)
			}
		})

		t.Run("concurrent applies lose nothing", func(t *testing.T) {
			if err := b.Save(ctx, "t-conc", map[string][]byte{"seed": []byte("s")}, expiry); err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{"seed": []byte("s")}
			var wg sync.WaitGroup
			for i := range 16 {
				k, v := fmt.Sprintf("k%d", i), []byte(fmt.Sprint(i))
				want[k] = v
				wg.Go(func() {
					if ok, err := b.Apply(ctx, "t-conc", map[string][]byte{k: v}, nil, expiry); !ok || err != nil {
						t.Errorf("Apply %s: %v %v", k, ok, err)
					}
				})
			}
			wg.Wait()
			got, _ := mustLoad(t, b, "t-conc")
			sameValues(t, "after concurrent applies", got, want)
		})

		t.Run("apply never resurrects", func(t *testing.T) {
			if ok, err := b.Apply(ctx, "t-missing", map[string][]byte{"x": []byte("1")}, nil, expiry); ok || err != nil {
				t.Errorf("Apply on a missing session: %v %v", ok, err)
			}
			notFound(t, b, "t-missing", "after Apply on a missing session")
			if err := b.Save(ctx, "t-deleted", map[string][]byte{"x": []byte("1")}, expiry); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, "t-deleted"); err != nil {
				t.Fatal(err)
			}
			if ok, err := b.Apply(ctx, "t-deleted", map[string][]byte{"late": []byte("write")}, nil, expiry); ok || err != nil {
				t.Errorf("Apply on a deleted session: %v %v", ok, err)
			}
			notFound(t, b, "t-deleted", "after Apply on a deleted session")
		})

		t.Run("expired sessions", func(t *testing.T) {
			past := time.Now().Add(-time.Second)
			if err := b.Save(ctx, "t-expired", map[string][]byte{"x": []byte("1")}, past); err != nil {
				t.Fatal(err)
			}
			if err := b.Save(ctx, "t-live", map[string][]byte{"y": []byte("2")}, expiry); err != nil {
				t.Fatal(err)
			}
			notFound(t, b, "t-expired", "expired session")
			if ok, err := b.Apply(ctx, "t-expired", map[string][]byte{"x": []byte("2")}, nil, expiry); ok || err != nil {
				t.Errorf("Apply extended an expired session: %v %v", ok, err)
			}
			notFound(t, b, "t-expired", "expired session after Apply")
			n, err := b.DeleteExpired(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if _, selfExpiring := b.(*Redis); selfExpiring {
				want = 0 // Redis expired the key itself
			}
			if n != want {
				t.Errorf("DeleteExpired = %d, want %d", n, want)
			}
			got, _ := mustLoad(t, b, "t-live")
			sameValues(t, "live session after DeleteExpired", got, map[string][]byte{"y": []byte("2")})
		})

		t.Run("delete", func(t *testing.T) {
			if err := b.Save(ctx, "t-del", map[string][]byte{"x": []byte("1")}, expiry); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, "t-del"); err != nil {
				t.Fatal(err)
			}
			notFound(t, b, "t-del", "deleted session")
			if err := b.Delete(ctx, "t-del"); err != nil {
				t.Errorf("deleting a missing session: %v", err)
			}
		})

		t.Run("manager merges concurrent requests", func(t *testing.T) {
			testManagerMerge(t, b)
		})
	})
}

// testManagerMerge runs two overlapping requests of one session through the
// Manager on b: each commits only what it changed, so a slow request's
// stale snapshot neither undoes the fast one's write nor brings back the
// key the fast one removed.
func testManagerMerge(t *testing.T, b Backend) {
	m := New(config.Default(config.Test).Session, b, slog.New(slog.NewTextHandler(io.Discard, nil)), func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("session error: %v", err)
		w.WriteHeader(500)
	})
	serve := func(c *http.Cookie, h func(ctx context.Context)) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if c != nil {
			req.AddCookie(c)
		}
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(r.Context()) })).ServeHTTP(rec, req)
		return rec
	}
	var cookie *http.Cookie
	for _, c := range serve(nil, func(ctx context.Context) {
		m.Put(ctx, "shared", "v0")
		m.Put(ctx, "doomed", "d")
	}).Result().Cookies() {
		if c.Name == m.Cookie.Name {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	loaded, finish := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the slow request
		serve(cookie, func(ctx context.Context) {
			close(loaded)
			<-finish
			m.Put(ctx, "slow", "s")
		})
	})
	<-loaded
	serve(cookie, func(ctx context.Context) { // the fast request
		m.Put(ctx, "fast", "f")
		m.Put(ctx, "shared", "v1")
		m.Remove(ctx, "doomed")
	})
	close(finish)
	wg.Wait()
	var got map[string]string
	serve(cookie, func(ctx context.Context) {
		got = map[string]string{}
		for _, k := range m.Keys(ctx) {
			got[k] = m.GetString(ctx, k)
		}
	})
	want := map[string]string{"shared": "v1", "fast": "f", "slow": "s"}
	if !maps.Equal(got, want) {
		keys := slices.Sorted(maps.Keys(got))
		t.Errorf("after overlapping requests: %v (keys %v), want %v", got, keys, want)
	}
}
