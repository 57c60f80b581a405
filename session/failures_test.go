package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
)

// A store that is down reports an error from every call, and never claims
// to have found or updated a session.
func TestBackendsReportStoreFailures(t *testing.T) {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	d, err := db.Open(ctx, config.Default(config.Test).Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	exp := time.Now().Add(time.Hour)
	for name, b := range map[string]Backend{"redis": NewRedis(client, "x:"), "sql": NewSQL(d)} {
		if _, _, found, err := b.Load(ctx, "t"); found || err == nil {
			t.Errorf("%s Load: found=%v err=%v", name, found, err)
		}
		if err := b.Save(ctx, "t", map[string][]byte{"k": []byte("v")}, exp); err == nil {
			t.Errorf("%s Save: no error", name)
		}
		if ok, err := b.Apply(ctx, "t", map[string][]byte{"k": []byte("v")}, []string{"d"}, exp); ok || err == nil {
			t.Errorf("%s Apply: existed=%v err=%v", name, ok, err)
		}
		if err := b.Delete(ctx, "t"); err == nil {
			t.Errorf("%s Delete: no error", name)
		}
		if _, err := b.DeleteExpired(ctx); err == nil && name == "sql" {
			t.Errorf("%s DeleteExpired: no error", name)
		}
	}
}

func TestCodecRejectsCorruptValues(t *testing.T) {
	if _, err := split([]byte{1, 1, 'k', 9, 's'}); err == nil {
		t.Error("split accepted a truncated value")
	}
	if _, err := split([]byte{2, 1, 'k', 1, 's'}); err == nil {
		t.Error("split accepted a missing pair")
	}
	for _, bad := range [][]byte{{}, {'z', 1}, {tagFloat, 1, 2, 3}, {tagInt}, {tagTime, 1}} {
		if _, err := decodeValue(bad); err == nil {
			t.Errorf("decodeValue(%v) accepted", bad)
		}
		if _, _, err := (codec{}).Decode(join(map[string][]byte{"k": bad})); err == nil {
			t.Errorf("Decode accepted the value %v", bad)
		}
	}
}

// Flashes come back once, oldest first, with their levels.
func TestFlashes(t *testing.T) {
	if Success != "success" || Info != "info" || Warning != "warning" || Error != "error" {
		t.Error("flash level names changed (the layout styles flash-<level>)")
	}
	m, _ := testManager(t)
	serve := func(c *http.Cookie, h func(context.Context)) *http.Cookie {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if c != nil {
			req.AddCookie(c)
		}
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(r.Context()) })).ServeHTTP(rec, req)
		for _, got := range rec.Result().Cookies() {
			if got.Name == m.Cookie.Name {
				return got
			}
		}
		return c
	}
	var got []Flash
	c := serve(nil, func(ctx context.Context) { m.Flash(ctx, Warning, "only one") })
	serve(c, func(ctx context.Context) { got = TakeFlashes(ctx) })
	if !slices.Equal(got, []Flash{{Warning, "only one"}}) {
		t.Errorf("one flash: %+v", got)
	}
	serve(c, func(ctx context.Context) {
		m.Flash(ctx, Success, "first")
		time.Sleep(time.Millisecond)
		m.Flash(ctx, Error, "second\x00with a NUL")
		m.Flash(ctx, Info, "third")
	})
	serve(c, func(ctx context.Context) { got = TakeFlashes(ctx) })
	if !slices.Equal(got, []Flash{{Success, "first"}, {Error, "second\x00with a NUL"}, {Info, "third"}}) {
		t.Errorf("three flashes: %+v", got)
	}
	serve(c, func(ctx context.Context) { got = TakeFlashes(ctx) })
	if got != nil {
		t.Errorf("flashes shown twice: %+v", got)
	}
	if TakeFlashes(context.Background()) != nil {
		t.Error("flashes outside the middleware")
	}
}

func TestCommitRejectsCorruptData(t *testing.T) {
	a := &adapter{backend: NewMemory(), touchAfter: time.Second}
	if err := a.CommitCtx(context.Background(), "t", []byte{0xff}, time.Now().Add(time.Hour)); err == nil {
		t.Error("corrupt session data committed")
	}
}

// A row the SQL store cannot read is an error, not a found session.
func TestSQLLoadOfAnUnreadableRow(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, config.Default(config.Test).Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.Exec(`INSERT INTO trellis_sessions (token, expiry) VALUES ('t', 'not a number')`); err != nil {
		t.Fatal(err)
	}
	if _, _, found, err := NewSQL(d).Load(ctx, "t"); found || err == nil {
		t.Errorf("unreadable row: found=%v err=%v", found, err)
	}
}

// Started tells a stored session from a fresh one.
func TestStarted(t *testing.T) {
	m, _ := testManager(t)
	c := start(t, m)
	for _, cookie := range []*http.Cookie{nil, c} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if got := m.Started(r.Context()); got != (cookie != nil) {
				t.Errorf("with cookie %v: Started = %v", cookie != nil, got)
			}
		})).ServeHTTP(rec, req)
	}
}
