package uploads_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/storage"
	"github.com/trellis-go/trellis/trellistest"
	"github.com/trellis-go/trellis/uploads"
)

const password = "correct horse battery"

// TestUploads runs the whole story through every middleware on each
// database backend with the local store, and on SQLite with the S3 store
// (gofakes3 over loopback HTTP).
func TestUploads(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		scenarios(t, newApp(t, b, localStore))
	})
	t.Run("s3", func(t *testing.T) { scenarios(t, newApp(t, trellistest.SQLite, s3Store)) })
}

func scenarios(t *testing.T, app *trellistest.App) {
	alice := app.Server
	alice.SignIn("alice@example.com", password)
	bob := app.AsNewVisitor()
	bob.SignIn("bob@example.com", password)
	anon := app.AsNewVisitor()
	img := pngBytes(t, 40, 20)

	t.Run("image round trip and privacy", func(t *testing.T) {
		got := ids(t, upload(t, alice, part{"avatar", "me.png", "image/png", img}, textPart("caption", "hello")))
		if len(got) != 1 {
			t.Fatalf("ids %v", got)
		}
		res := alice.Get(path(got[0])).AssertStatus(200)
		h := res.Header
		if h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Content-Security-Policy") != uploads.FileCSP || !strings.HasPrefix(h.Get("Content-Disposition"), "inline") {
			t.Fatalf("headers %v", h)
		}
		if !bytes.HasPrefix([]byte(res.Body), []byte("\x89PNG")) {
			t.Fatal("not a PNG")
		}
		// Another user, or nobody, sees no such file.
		bob.Get(path(got[0])).AssertStatus(404)
		anon.Get(path(got[0])).AssertStatus(404)
		alice.Get("/files/999999").AssertStatus(404)
		alice.Get("/files/abc").AssertStatus(404)
		// Conditional request.
		res = alice.Do(http.MethodGet, path(got[0]), nil, trellistest.Header("If-None-Match", h.Get("ETag")))
		res.AssertStatus(http.StatusNotModified)
	})

	t.Run("metadata is stripped", func(t *testing.T) {
		got := ids(t, upload(t, alice, part{"avatar", "photo.jpg", "image/jpeg", jpegWithEXIF(t)}))
		res := alice.Get(path(got[0])).AssertStatus(200)
		if strings.Contains(res.Body, "GPS-SECRET") || !strings.HasPrefix(res.Body, "\xff\xd8") {
			t.Fatal("the EXIF segment survived")
		}
	})

	t.Run("disguised and mismatched files are 422", func(t *testing.T) {
		cases := map[string]part{
			"html as png":        {"avatar", "cat.png", "image/png", []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")},
			"svg with script":    {"avatar", "cat.png", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
			"svg as svg":         {"avatar", "cat.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
			"gif header + html":  {"avatar", "x.gif", "image/gif", []byte("GIF89a<html><script>alert(1)</script></html>")},
			"html as text":       {"doc", "notes.txt", "text/plain", []byte("<html><body><script>alert(1)</script></body></html>")},
			"wrong extension":    {"avatar", "me.jpg", "application/octet-stream", img},
			"claimed type":       {"avatar", "me.png", "image/gif", img},
			"zip where not ok":   {"doc", "a.zip", "application/zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00" + strings.Repeat("\x00", 40))},
			"pixel bomb":         {"avatar", "bomb.png", "image/png", pngBomb(100000, 100000)},
			"undecodable png":    {"avatar", "x.png", "image/png", append(append([]byte{}, img[:60]...), bytes.Repeat([]byte{1}, 50)...)},
			"empty file":         {"doc", "empty.txt", "text/plain", nil},
			"field not accepted": {"other", "a.txt", "text/plain", []byte("hello")},
		}
		for name, p := range cases {
			if p.data == nil {
				p.data = []byte{}
			}
			res := upload(t, alice, p)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422\n%s", name, res.StatusCode, res.Body)
			}
			want := map[string]string{"pixel bomb": "megapixels", "wrong extension": "extension .jpg", "claimed type": "sent as image/gif",
				"html as png": "text/html", "svg with script": "image/svg+xml", "html as text": "text/html"}[name]
			if want != "" && !strings.Contains(res.Body, want) {
				t.Errorf("%s: the message does not say %q:\n%s", name, want, res.Body)
			}
		}
		// htmx requests get a fragment with the message.
		body, ctype := multipartBody(t, part{"avatar", "cat.png", "image/png", []byte("<html><script>x</script></html>")})
		res := alice.Do(http.MethodPost, "/up", body, trellistest.Header("Content-Type", ctype), trellistest.HTMX("upload"))
		res.AssertStatus(422).AssertFragment().AssertContains("text/html, which is not accepted here")
	})

	t.Run("polyglot gif is re-encoded", func(t *testing.T) {
		poly := append(gifBytes(t), []byte("<html><script>alert(1)</script></html>")...)
		got := ids(t, upload(t, alice, part{"avatar", "x.gif", "image/gif", poly}))
		res := alice.Get(path(got[0])).AssertStatus(200)
		if strings.Contains(res.Body, "<script") || res.Header.Get("Content-Type") != "image/gif" {
			t.Fatalf("the appended page survived: %q", res.Body)
		}
	})

	t.Run("text attachments download, html never inline", func(t *testing.T) {
		got := ids(t, upload(t, alice, part{"doc", `..\..\evil"name.txt`, "text/plain", []byte("just text")}))
		res := alice.Get(path(got[0])).AssertStatus(200)
		if res.Header.Get("Content-Type") != "text/plain; charset=utf-8" || res.Body != "just text" {
			t.Fatalf("%v %q", res.Header, res.Body)
		}
		if d := res.Header.Get("Content-Disposition"); !strings.Contains(d, `filename=evilname.txt`) && !strings.Contains(d, `filename="evilname.txt"`) {
			t.Fatalf("disposition %q", d)
		}
		pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
		got = ids(t, upload(t, alice, part{"doc", "a.pdf", "application/pdf", pdf}))
		res = alice.Get(path(got[0])).AssertStatus(200)
		if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("pdf disposition %q", res.Header.Get("Content-Disposition"))
		}
	})

	t.Run("limits", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), 1<<20+1)
		upload(t, alice, part{"doc", "big.txt", "text/plain", big}).AssertStatus(413)
		parts := []part{}
		for range 4 {
			parts = append(parts, part{"doc", "a.txt", "text/plain", []byte("x")})
		}
		upload(t, alice, parts...).AssertStatus(413) // 3 per field
		upload(t, alice, part{"avatar", "a.png", "image/png", img}, part{"avatar", "b.png", "image/png", img}).AssertStatus(413)
		// Nothing of a refused request stays.
		var n int
		if err := app.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM trellis_files WHERE status <> 'ready'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows not ready (%v)", n, err)
		}
	})

	t.Run("range requests", func(t *testing.T) {
		data := []byte(strings.Repeat("0123456789", 100))
		id := ids(t, upload(t, alice, part{"doc", "r.txt", "text/plain", data}))[0]
		res := alice.Do(http.MethodGet, path(id), nil, trellistest.Header("Range", "bytes=10-19"))
		res.AssertStatus(206)
		if res.Body != "0123456789" {
			t.Fatalf("range body %q", res.Body)
		}
		huge := alice.Do(http.MethodGet, path(id), nil, trellistest.Header("Range", "bytes=990-99999999999999"))
		huge.AssertStatus(206)
		if huge.Body != "0123456789" {
			t.Fatalf("huge range body %q", huge.Body)
		}
		many := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 20), ",")
		alice.Do(http.MethodGet, path(id), nil, trellistest.Header("Range", many)).AssertStatus(416)
		// Overlapping ranges adding up to more than the file: the whole file.
		over := alice.Do(http.MethodGet, path(id), nil, trellistest.Header("Range", "bytes=0-999,0-999"))
		over.AssertStatus(200)
		if len(over.Body) != len(data) {
			t.Fatalf("overlapping ranges: %d bytes", len(over.Body))
		}
		alice.Do(http.MethodGet, path(id), nil, trellistest.Header("Range", "bytes=5000-6000")).AssertStatus(416)
	})

	t.Run("signed urls", func(t *testing.T) {
		id := ids(t, upload(t, alice, part{"doc", "s.txt", "text/plain", []byte("signed content")}))[0]
		f, err := app.App.Files.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		u, err := app.App.Files.SignedURL(context.Background(), f, false)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(u, "/") {
			res := anon.Get(u).AssertStatus(200)
			if res.Body != "signed content" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("signed GET %q %v", res.Body, res.Header)
			}
			anon.Get(strings.Replace(u, "t=text", "t=html", 1)).AssertStatus(403)
			// The file handler sets its own headers, without relying on the
			// app's middleware.
			bare := chi.NewRouter()
			bare.Route("/files", app.App.Files.Routes)
			rec := httptest.NewRecorder()
			bare.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
			if rec.Code != 200 || rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Content-Security-Policy") != uploads.FileCSP {
				t.Fatalf("bare file handler: %d %v", rec.Code, rec.Header())
			}
			anon.Get(u[:len(u)-3] + "AAA").AssertStatus(403)
			if !strings.Contains(u, "d=inline") {
				t.Fatalf("text/plain should be signed inline: %s", u)
			}
			anon.Get(strings.Replace(u, "d=inline", "d=attachment", 1)).AssertStatus(403)
		} else {
			res, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != 200 || string(b) != "signed content" || !strings.Contains(u, "X-Amz-Signature") {
				t.Fatalf("presigned GET: %d %q", res.StatusCode, b)
			}
		}
	})

	count := func(q string) int {
		t.Helper()
		var n int
		if err := app.App.DB.SQL.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("attach failure leaves nothing", func(t *testing.T) {
		// The thumbnail jobs of earlier uploads store objects as they
		// finish: count once they have.
		for deadline := time.Now().Add(10 * time.Second); count(`SELECT COUNT(*) FROM river_job WHERE finalized_at IS NULL`) > 0; {
			if time.Now().After(deadline) {
				t.Fatal("earlier jobs did not finish")
			}
			time.Sleep(10 * time.Millisecond)
		}
		files, objs, jobs := count(`SELECT COUNT(*) FROM trellis_files`), objects(t, app), count(`SELECT COUNT(*) FROM river_job`)
		res := upload(t, alice, textPart("attach", "fail"), part{"avatar", "a.png", "image/png", pngBytes(t, 40, 30)},
			part{"doc", "a.txt", "text/plain", []byte("one")})
		if res.StatusCode < 400 {
			t.Fatalf("a failing Attach answered %d", res.StatusCode)
		}
		if n, o, j := count(`SELECT COUNT(*) FROM trellis_files`), objects(t, app), count(`SELECT COUNT(*) FROM river_job`); n != files || o != objs || j != jobs {
			t.Fatalf("after a failing Attach: rows %d -> %d, objects %d -> %d, jobs %d -> %d", files, n, objs, o, jobs, j)
		}
	})

	t.Run("store failure leaves nothing", func(t *testing.T) {
		before := objects(t, app)
		n0 := count(`SELECT COUNT(*) FROM trellis_files`)
		app.App.Files.Store = &failingStore{Store: app.App.Files.Store, failAfter: 1}
		defer func() { app.App.Files.Store = app.App.Files.Store.(*failingStore).Store }()
		res := upload(t, alice, part{"doc", "a.txt", "text/plain", []byte("one")}, part{"doc", "b.txt", "text/plain", []byte("two")})
		res.AssertStatus(500)
		if n := count(`SELECT COUNT(*) FROM trellis_files`); n != n0 || objects(t, app) != before {
			t.Fatalf("rows %d -> %d, objects %d -> %d", n0, n, before, objects(t, app))
		}
	})
}

// failingStore fails every Put after the first failAfter.
type failingStore struct {
	storage.Store
	failAfter int
	puts      atomic.Int32
}

func (f *failingStore) Put(ctx context.Context, key string, r io.Reader, size int64, ctype string) error {
	if int(f.puts.Add(1)) > f.failAfter {
		_, _ = io.Copy(io.Discard, r)
		return errors.New("disk full")
	}
	return f.Store.Put(ctx, key, r, size, ctype)
}

func objects(t *testing.T, app *trellistest.App) int {
	n := 0
	if err := app.App.Files.Store.Walk(context.Background(), func(storage.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// countingReader counts how much of a request body the server read.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestOversizedBodyStopsEarly sends a 64 MiB file of unknown length to a
// field limited to 1 MiB: the answer is 413 and the server stops reading
// long before the end.
func TestOversizedBodyStopsEarly(t *testing.T) {
	app := newApp(t, trellistest.SQLite, localStore)
	app.SignIn("alice@example.com", password)
	token := app.CSRFToken()
	head, ctype := multipartBody(t, part{"doc", "big.txt", "text/plain", []byte("start")})
	// Splice 64 MiB into the file part, before the closing boundary.
	raw := head.Bytes()
	cut := bytes.LastIndex(raw, []byte("\r\n--"))
	const total = 64 << 20
	body := &countingReader{r: io.MultiReader(bytes.NewReader(raw[:cut]), io.LimitReader(repeat('a'), total), bytes.NewReader(raw[cut:]))}
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/up", body)
	req.ContentLength = -1 // chunked: the server cannot refuse from the header
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-CSRF-Token", token)
	res, err := app.Client.Do(req)
	if err != nil {
		t.Fatalf("request failed instead of 413: %v (sent %d bytes)", err, body.n.Load())
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", res.StatusCode)
	}
	if sent := body.n.Load(); sent > 8<<20 {
		t.Fatalf("the server read %d of %d bytes before answering", sent, total)
	}
	t.Logf("413 after %d bytes read of %d", body.n.Load(), total)
	// And a declared Content-Length over storage.max_request_bytes is
	// refused before the body is read at all.
	body2 := &countingReader{r: io.LimitReader(repeat('a'), 65<<20)}
	req, _ = http.NewRequest(http.MethodPost, app.URL+"/up", body2)
	req.ContentLength = 65 << 20
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-CSRF-Token", token)
	res, err = app.Client.Do(req)
	if err == nil {
		_ = res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("declared oversize: %d", res.StatusCode)
		}
	}
	if body2.n.Load() > 8<<20 {
		t.Fatalf("declared oversize: %d bytes read", body2.n.Load())
	}
}

type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestFormWithoutJavaScript posts like a browser without htmx: the CSRF
// token is the body's first part, not a header.
func TestFormWithoutJavaScript(t *testing.T) {
	app := newApp(t, trellistest.SQLite, localStore)
	app.SignIn("alice@example.com", password)
	token := app.CSRFToken()
	post := func(parts ...part) *trellistest.Response {
		body, ctype := multipartBody(t, parts...)
		return app.Do(http.MethodPost, "/up", body, trellistest.Header("Content-Type", ctype), trellistest.NoCSRF())
	}
	file := part{"doc", "a.txt", "text/plain", []byte("hi")}
	res := post(textPart("csrf_token", token), file)
	if len(ids(t, res)) != 1 {
		t.Fatal("no file stored")
	}
	post(file).AssertStatus(403)
	post(file, textPart("csrf_token", token)).AssertStatus(403)
	tampered := "x" + token[1:]
	if token[0] == 'x' {
		tampered = "y" + token[1:]
	}
	post(textPart("csrf_token", tampered), file).AssertStatus(403)
	post(textPart("token", token), file).AssertStatus(403)                                 // only csrf_token counts
	post(part{"csrf_token", "t.txt", "text/plain", []byte(token)}, file).AssertStatus(403) // and not as a file
	// Another site's page cannot post at all.
	body, ctype := multipartBody(t, textPart("csrf_token", token), file)
	app.Do(http.MethodPost, "/up", body, trellistest.Header("Content-Type", ctype), trellistest.NoCSRF(),
		trellistest.Header("Sec-Fetch-Site", "cross-site")).AssertStatus(403)
}

func TestThumbnailAndCleanup(t *testing.T) {
	for _, s := range []store{localStore, s3Store} {
		t.Run(string(s), func(t *testing.T) {
			app := newApp(t, trellistest.SQLite, s, func(c *config.Config) { c.Jobs.PollInterval = 50 * time.Millisecond })
			app.SignIn("alice@example.com", password)
			id := ids(t, upload(t, app.Server, part{"avatar", "big.png", "image/png", pngBytes(t, 200, 100)}))[0]
			deadline := time.Now().Add(15 * time.Second)
			var res *trellistest.Response
			for {
				res = app.Get(path(id) + "/thumb")
				if res.StatusCode == 200 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			res.AssertStatus(200)
			if res.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("thumb type %q", res.Header.Get("Content-Type"))
			}
			ctx := context.Background()
			m := app.App.Files
			// A crash leaves an object without a row and a pending row.
			orphan := storage.NewKey()
			if err := m.Store.Put(ctx, orphan, strings.NewReader("left behind"), 11, "text/plain"); err != nil {
				t.Fatal(err)
			}
			pendingKey := storage.NewKey()
			if err := m.Store.Put(ctx, pendingKey, strings.NewReader("half done"), 9, "text/plain"); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-2 * time.Hour).UTC()
			if _, err := app.App.DB.SQL.Exec(app.App.DB.Rebind(`INSERT INTO trellis_files (storage_key, size, content_type, sha256, status, created_at) VALUES (?, 0, 'text/plain', '', 'pending', ?)`), pendingKey, old); err != nil {
				t.Fatal(err)
			}
			rep, err := m.Cleanup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Fresh objects are left alone (an upload may be in flight).
			if rep.PendingRows != 1 || rep.Orphans != 0 {
				t.Fatalf("cleanup now: %+v", rep)
			}
			if _, err := m.Store.Stat(ctx, pendingKey); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("pending object kept: %v", err)
			}
			uploads.SetClock(m, func() time.Time { return time.Now().Add(3 * time.Hour) })
			rep, err = m.Cleanup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Orphans != 1 {
				t.Fatalf("cleanup later: %+v", rep)
			}
			if _, err := m.Store.Stat(ctx, orphan); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("orphan kept: %v", err)
			}
			f, err := m.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{f.Key, f.ThumbKey} {
				if _, err := m.Store.Stat(ctx, k); err != nil {
					t.Fatalf("cleanup removed a live object %s: %v", k, err)
				}
			}
			if err := m.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if n := objects(t, app); n != 0 {
				t.Fatalf("%d objects after deleting the only file", n)
			}
			app.Get(path(id)).AssertStatus(404)
		})
	}
}

func TestSignedURLExpires(t *testing.T) {
	app := newApp(t, trellistest.SQLite, localStore)
	app.SignIn("alice@example.com", password)
	id := ids(t, upload(t, app.Server, part{"doc", "s.txt", "text/plain", []byte("x")}))[0]
	m := app.App.Files
	f, _ := m.Get(context.Background(), id)
	u, err := m.SignedURL(context.Background(), f, false)
	if err != nil {
		t.Fatal(err)
	}
	anon := app.AsNewVisitor()
	anon.Get(u).AssertStatus(200)
	uploads.SetClock(m, func() time.Time { return time.Now().Add(16 * time.Minute) })
	anon.Get(u).AssertStatus(403).AssertContains("expired")
}

// TestSignedURLNeedsAKey: a local store without storage.signing_key (as
// in production when none is set) makes SignedURL fail with
// ErrNoSigningKey rather than hand out an unsigned link.
func TestSignedURLNeedsAKey(t *testing.T) {
	app := newApp(t, trellistest.SQLite, localStore)
	app.SignIn("alice@example.com", password)
	id := ids(t, upload(t, app.Server, part{"doc", "s.txt", "text/plain", []byte("x")}))[0]
	m := app.App.Files
	f, err := m.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := storage.NewLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unsigned.Close() })
	m.Store = unsigned
	if u, err := m.SignedURL(context.Background(), f, false); !errors.Is(err, uploads.ErrNoSigningKey) {
		t.Fatalf("SignedURL without a key = %q, %v; want ErrNoSigningKey", u, err)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":                "passwd",
		`C:\Users\x\report.pdf`:           "report.pdf",
		"a\x00b\r\n.txt":                  "ab.txt",
		"evil\u202egnp.exe":               "evilgnp.exe",
		`quo"te.txt`:                      "quote.txt",
		"...":                             "",
		strings.Repeat("x", 300) + ".png": strings.Repeat("x", 96) + ".png",
	} {
		if got := uploads.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReencodedImageMayGrow: the limit applies to what the visitor sends;
// an image within it whose re-encoding is larger (a low-quality JPEG
// written again at quality 90) is stored, not refused with a 413.
func TestReencodedImageMayGrow(t *testing.T) {
	app := newApp(t, trellistest.SQLite, localStore)
	app.SignIn("alice@example.com", password)
	img := image.NewRGBA(image.Rect(0, 0, 2000, 2000))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var sent bytes.Buffer
	if err := jpeg.Encode(&sent, img, &jpeg.Options{Quality: 10}); err != nil {
		t.Fatal(err)
	}
	if sent.Len() >= 1<<20 {
		t.Fatalf("the test image is %d bytes, over the avatar limit", sent.Len())
	}
	got := ids(t, upload(t, app.Server, part{"avatar", "noise.jpg", "image/jpeg", sent.Bytes()}))
	stored := app.Get(path(got[0])).AssertStatus(http.StatusOK)
	if len(stored.Body) <= 1<<20 {
		t.Fatalf("stored %d bytes from %d sent: the re-encoding did not grow past the limit, so this proves nothing", len(stored.Body), sent.Len())
	}
}

// TestSharedReader mixes Receive (and the CSRF check, which read the body
// with internal/multipart) with middleware.MultipartReader on one streamed
// body: whoever reads first, the next reader goes on at the next part.
func TestSharedReader(t *testing.T) {
	app := newApp(t, trellistest.SQLite, localStore)
	a := app.App
	// The handler reads the first part with middleware.MultipartReader,
	// then Receive reads the rest.
	a.Upload("/std-then-receive", a.Auth.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mr, err := middleware.MultipartReader(r)
		if err != nil {
			t.Error(err)
			return
		}
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "note" {
			t.Errorf("first part %v", err)
			return
		}
		up, err := a.Files.Receive(r, auth.CurrentUser(r.Context()).ID, policy)
		if err != nil {
			a.Render.Error(w, r, err)
			return
		}
		render.JSON(w, http.StatusOK, map[string]any{"ids": []int64{up.Files[0].ID}, "size": up.Files[0].Size})
	})).ServeHTTP)
	// The handler reads everything after the CSRF part with
	// middleware.MultipartReader.
	a.Upload("/std-only", a.Auth.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mr, err := middleware.MultipartReader(r)
		if err != nil {
			t.Error(err)
			return
		}
		var names []string
		var size int64
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, p)
			size += n
			names = append(names, p.FormName())
		}
		render.JSON(w, http.StatusOK, map[string]any{"names": names, "size": size})
	})).ServeHTTP)
	app.SignIn("alice@example.com", password)
	token := app.CSRFToken()
	big := bytes.Repeat([]byte("some text\n"), 30000) // several windows of either reader
	file := part{"doc", "a.txt", "text/plain", big}
	size := strconv.Itoa(len(big))

	for _, withToken := range []bool{false, true} {
		parts := []part{textPart("note", "n"), file}
		opts := []trellistest.RequestOption{}
		if withToken {
			parts = append([]part{textPart("csrf_token", token)}, parts...)
			opts = append(opts, trellistest.NoCSRF())
		}
		body, ctype := multipartBody(t, parts...)
		res := app.Do(http.MethodPost, "/std-then-receive", body, append(opts, trellistest.Header("Content-Type", ctype))...)
		if len(ids(t, res)) != 1 || !strings.Contains(res.Body, `"size":`+size) {
			t.Fatalf("token in body %v: %s", withToken, res.Body)
		}
		body, ctype = multipartBody(t, parts...)
		res = app.Do(http.MethodPost, "/std-only", body, append(opts, trellistest.Header("Content-Type", ctype))...)
		res.AssertStatus(200)
		if !strings.Contains(res.Body, `"names":["note","doc"]`) || !strings.Contains(res.Body, `"size":`+strconv.Itoa(len(big)+1)) {
			t.Fatalf("token in body %v: %s", withToken, res.Body)
		}
	}
}
