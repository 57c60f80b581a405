package demo_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/examples/demo"
	"github.com/trellis-go/trellis/trellistest"
)

// signedIn registers a new account on s and returns the signed-in visitor.
func signedIn(t *testing.T, s *trellistest.Server, email string) *trellistest.Server {
	t.Helper()
	v := s.AsNewVisitor()
	res := v.PostForm("/register", url.Values{"email": {email}, "password": {"notes password"}, "password_confirm": {"notes password"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register %s: %d", email, res.StatusCode)
	}
	v.Get("/") // show the welcome flash
	return v
}

var noteLink = regexp.MustCompile(`^/notes/(\d+)$`)

func createNote(t *testing.T, s *trellistest.Server, title, body string) string {
	t.Helper()
	res := s.PostForm("/notes", url.Values{"title": {title}, "body": {body}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !noteLink.MatchString(loc) {
		t.Fatalf("create %q: %d %q %.200s", title, res.StatusCode, loc, res.Body)
	}
	return loc
}

func TestNotesCreateValidateAndShow(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *trellistest.Server) {
		u := signedIn(t, s, "writer@example.com")
		if res := s.AsNewVisitor().Get("/notes"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Fatalf("anonymous /notes: %d", res.StatusCode)
		}
		if res := u.Get("/notes/new"); res.StatusCode != 200 || !strings.Contains(res.Body, `id="note-form"`) {
			t.Fatalf("new page: %d", res.StatusCode)
		}
		cases := []struct {
			form  url.Values
			field string
			msg   string
		}{
			{url.Values{"title": {"   "}, "body": {"kept body"}}, "title", "Title is required."},
			{url.Values{"title": {strings.Repeat("é", 121)}}, "title", "Title must be at most 120 characters."},
			{url.Values{"title": {"ok"}, "body": {strings.Repeat("b", 10001)}}, "body", "Body must be at most 10000 characters."},
		}
		for _, c := range cases {
			page := u.PostForm("/notes", c.form)
			if page.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page.Body, c.msg) || !strings.Contains(page.Body, "<html") {
				t.Fatalf("%s: %d %.300s", c.field, page.StatusCode, page.Body)
			}
			if !strings.Contains(page.Body, `aria-describedby="field-`+c.field+`-error`) {
				t.Errorf("%s error not tied to its input", c.field)
			}
			frag := u.PostForm("/notes", c.form, trellistest.HTMX("note-form"))
			if frag.StatusCode != http.StatusUnprocessableEntity || !strings.HasPrefix(frag.Body, `<form id="note-form"`) {
				t.Errorf("htmx %s: %d %.100s", c.field, frag.StatusCode, frag.Body)
			}
		}
		if page := u.PostForm("/notes", cases[0].form); !strings.Contains(page.Body, ">kept body</textarea>") {
			t.Error("submitted body not kept")
		}
		// Exactly 120 characters (unicode) is fine; htmx gets HX-Redirect.
		res := u.PostForm("/notes", url.Values{"title": {strings.Repeat("é", 120)}}, trellistest.HTMX("note-form"))
		if res.StatusCode != 200 || !noteLink.MatchString(res.Header.Get("HX-Redirect")) {
			t.Fatalf("htmx create: %d %v", res.StatusCode, res.Header)
		}
		loc := createNote(t, u, "  Groceries  ", "milk\neggs")
		show := u.Get(loc)
		if show.StatusCode != 200 || !strings.Contains(show.Body, "<h1>Groceries</h1>") || !strings.Contains(show.Body, "milk\neggs") {
			t.Fatalf("show: %d %.300s", show.StatusCode, show.Body)
		}
		if strings.Count(show.Body, "Note created.") != 1 || strings.Contains(u.Get(loc).Body, "Note created.") {
			t.Error("flash not shown exactly once")
		}
	})
}

func TestNotesListSearchAndPaging(t *testing.T) {
	s := newDemo(t, false)
	u := signedIn(t, s, "lister@example.com")
	for i := range 23 {
		title := "note " + string(rune('a'+i))
		if i == 5 {
			title = "Shopping list"
		}
		createNote(t, u, title, "body")
	}
	page := u.Get("/notes")
	if !strings.Contains(page.Body, `<span id="note-count">23 notes</span>`) || strings.Count(page.Body, `class="note-title"`) != 20 {
		t.Fatalf("first page: %.500s", page.Body)
	}
	if strings.Count(page.Body, `id="note-count"`) != 1 {
		t.Error("duplicate note-count ids on the full page")
	}
	if !strings.Contains(page.Body, `hx-trigger="revealed"`) || !strings.Contains(page.Body, `href="/notes?page=2"`) {
		t.Error("no infinite-scroll row")
	}
	more := u.Get("/notes?page=2", trellistest.HTMX("more-notes"))
	if strings.Count(more.Body, `class="note-title"`) != 3 || strings.Contains(more.Body, "<table") || strings.Contains(more.Body, "revealed") {
		t.Errorf("page 2 rows: %.300s", more.Body)
	}
	search := u.Get("/notes?q=SHOP", trellistest.HTMX("note-results"))
	if strings.Count(search.Body, `class="note-title"`) != 1 || !strings.Contains(search.Body, "Shopping list") ||
		!strings.Contains(search.Body, `<span id="note-count" hx-swap-oob="true">1 note</span>`) || strings.Contains(search.Body, "<html") {
		t.Errorf("search: %.400s", search.Body)
	}
	vary := strings.Join(search.Header.Values("Vary"), ",")
	if !strings.Contains(vary, "HX-Request") || !strings.Contains(vary, "HX-Target") {
		t.Errorf("Vary = %q", vary)
	}
	if none := u.Get("/notes?q=%25_", trellistest.HTMX("note-results")); !strings.Contains(none.Body, "No notes match") {
		t.Error("LIKE wildcards not escaped")
	}
	for _, bad := range []string{"page=0", "page=x", "q=" + strings.Repeat("q", 201)} {
		if res := u.Get("/notes?" + bad); res.StatusCode != 400 {
			t.Errorf("%s: %d", bad, res.StatusCode)
		}
	}
}

func TestNotesEditInlineAndWithoutJavaScript(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *trellistest.Server) {
		u := signedIn(t, s, "editor@example.com")
		loc := createNote(t, u, "Draft", "first")
		id := noteLink.FindStringSubmatch(loc)[1]
		row := u.Get(loc+"/edit?in=row", trellistest.HTMX("note-"+id))
		if !strings.HasPrefix(row.Body, `<tr id="note-`+id+`">`) || !strings.Contains(row.Body, `hx-put="/notes/`+id+`"`) || !strings.Contains(row.Body, `value="Draft"`) {
			t.Fatalf("edit row: %.300s", row.Body)
		}
		bad := u.Do("PUT", loc, strings.NewReader(url.Values{"title": {""}, "in": {"row"}}.Encode()),
			trellistest.HTMX("note-"+id), trellistest.Header("Content-Type", "application/x-www-form-urlencoded"))
		if bad.StatusCode != 422 || !strings.HasPrefix(bad.Body, `<tr id="note-`+id+`">`) || !strings.Contains(bad.Body, "Title is required.") {
			t.Fatalf("invalid inline edit: %d %.300s", bad.StatusCode, bad.Body)
		}
		ok := u.Do("PUT", loc, strings.NewReader(url.Values{"title": {"Final"}, "body": {"second"}, "in": {"row"}}.Encode()),
			trellistest.HTMX("note-"+id), trellistest.Header("Content-Type", "application/x-www-form-urlencoded"))
		if ok.StatusCode != 200 || !strings.Contains(ok.Body, `class="note-title">Final</a>`) || !strings.Contains(ok.Body, "Note saved.") {
			t.Fatalf("inline edit: %d %.400s", ok.StatusCode, ok.Body)
		}
		card := u.Get(loc+"/edit?in=card", trellistest.HTMX("note-card-"+id))
		if !strings.HasPrefix(card.Body, `<article id="note-card-`+id+`"`) {
			t.Errorf("card edit: %.200s", card.Body)
		}
		// Without JavaScript: the edit page posts with _method=PUT.
		page := u.Get(loc + "/edit")
		if !strings.Contains(page.Body, `name="_method" value="PUT"`) || !strings.Contains(page.Body, `method="post"`) {
			t.Fatalf("edit page: %.300s", page.Body)
		}
		res := u.PostForm(loc, url.Values{"_method": {"PUT"}, "title": {"Plain"}, "body": {"third"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != loc {
			t.Fatalf("method override update: %d %v", res.StatusCode, res.Header)
		}
		if !strings.Contains(u.Get(loc).Body, "<h1>Plain</h1>") {
			t.Error("update not saved")
		}
	})
}

func TestNotesDeleteAndOwnership(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *trellistest.Server) {
		owner := signedIn(t, s, "owner@example.com")
		other := signedIn(t, s, "other@example.com")
		loc := createNote(t, owner, "Private", "secret body")
		id := noteLink.FindStringSubmatch(loc)[1]
		createNote(t, owner, "Keep", "")
		// The other user has notes too: counts must not include them.
		createNote(t, other, "Theirs", "")
		createNote(t, other, "Theirs too", "")
		// Another user's note does not exist for them.
		for _, r := range []struct{ method, path string }{{"GET", loc}, {"GET", loc + "/edit"}, {"PUT", loc}, {"DELETE", loc}} {
			res := other.Do(r.method, r.path, strings.NewReader("title=hijack"), trellistest.Header("Content-Type", "application/x-www-form-urlencoded"))
			if res.StatusCode != 404 || strings.Contains(res.Body, "secret body") {
				t.Errorf("other user %s %s: %d", r.method, r.path, res.StatusCode)
			}
		}
		if strings.Contains(other.Get("/notes?q=Private").Body, `class="note-title">Private`) {
			t.Error("another user's note listed")
		}
		// CSRF is enforced.
		if res := owner.Do("DELETE", loc, nil, trellistest.NoCSRF()); res.StatusCode != 403 {
			t.Errorf("delete without CSRF: %d", res.StatusCode)
		}
		del := owner.Do("DELETE", loc, nil, trellistest.HTMX("note-"+id))
		if del.StatusCode != 200 || !strings.Contains(del.Body, `<span id="note-count" hx-swap-oob="true">1 note</span>`) ||
			!strings.Contains(del.Body, "deleted.") || strings.Contains(del.Body, "<tr") {
			t.Fatalf("htmx delete: %d %.300s", del.StatusCode, del.Body)
		}
		if res := owner.Get(loc); res.StatusCode != 404 {
			t.Errorf("deleted note: %d", res.StatusCode)
		}
		keep := owner.Get("/notes")
		kid := regexp.MustCompile(`/notes/(\d+)/edit`).FindStringSubmatch(keep.Body)[1]
		res := owner.PostForm("/notes/"+kid, url.Values{"_method": {"DELETE"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/notes" {
			t.Fatalf("method override delete: %d %v", res.StatusCode, res.Header)
		}
		if page := owner.Get("/notes"); !strings.Contains(page.Body, "No notes yet.") || !strings.Contains(page.Body, "“Keep” deleted.") {
			t.Errorf("after deleting: %.300s", page.Body)
		}
	})
}

func TestNotesEscapeEverything(t *testing.T) {
	s := newDemo(t, false)
	u := signedIn(t, s, "xss@example.com")
	payload := `<img src=x onerror=alert(1)>"'`
	loc := createNote(t, u, payload, payload)
	id := noteLink.FindStringSubmatch(loc)[1]
	for _, p := range []string{"/notes", loc, loc + "/edit", "/notes?q=" + url.QueryEscape("img")} {
		if body := u.Get(p).Body; strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders the payload unescaped", p)
		}
	}
	for _, frag := range []*trellistest.Response{
		u.Get(loc+"/edit?in=row", trellistest.HTMX("note-"+id)),
		u.PostForm("/notes", url.Values{"title": {""}, "body": {payload}}, trellistest.HTMX("note-form")),
	} {
		if strings.Contains(frag.Body, "<img src=x") {
			t.Errorf("fragment renders the payload unescaped: %.200s", frag.Body)
		}
	}
	if res := u.Get("/notes?q=" + url.QueryEscape(payload)); strings.Contains(res.Body, "<img src=x") {
		t.Error("search echo unescaped")
	}
}

func TestMalformedFormBodies(t *testing.T) {
	s := newDemo(t, false)
	u := signedIn(t, s, "malformed@example.com")
	form := trellistest.Header("Content-Type", "application/x-www-form-urlencoded")
	cases := []struct {
		body   string
		status int
	}{
		{"title=%zz", 400},
		{"title=\xff\xfe", 400},
		{strings.Repeat("a=1&", 1001), 413},
		{"title=" + strings.Repeat("x", 3<<20), 413},
	}
	for _, c := range cases {
		res := u.Do("POST", "/notes", strings.NewReader(c.body), form)
		if res.StatusCode != c.status {
			t.Errorf("%.30q: %d, want %d", c.body, res.StatusCode, c.status)
		}
		frag := u.Do("POST", "/notes", strings.NewReader(c.body), form, trellistest.HTMX("note-form"))
		if frag.StatusCode != c.status || frag.Header.Get("HX-Retarget") != "#trellis-error" {
			t.Errorf("htmx %.30q: %d %v", c.body, frag.StatusCode, frag.Header)
		}
	}
	// A broken multipart body is a 400 too.
	res := u.Do("POST", "/notes", strings.NewReader("--x\r\nbroken"), trellistest.Header("Content-Type", "multipart/form-data; boundary=x"))
	if res.StatusCode != 400 {
		t.Errorf("broken multipart: %d", res.StatusCode)
	}
}

func TestJobsPlaygroundValidates(t *testing.T) {
	s := newDemo(t, false)
	u := signedIn(t, s, "player@example.com")
	for _, bad := range []url.Values{{"kind": {"explode"}, "count": {"1"}}, {"kind": {"succeed"}, "count": {"0"}}, {"kind": {"fail"}, "count": {"x"}}} {
		res := u.PostForm("/demo/jobs", bad, trellistest.HTMX("enqueue-form"))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.HasPrefix(res.Body, `<form id="enqueue-form"`) {
			t.Errorf("%v: %d %.120s", bad, res.StatusCode, res.Body)
		}
	}
	res := u.PostForm("/demo/jobs", url.Values{"kind": {"succeed"}, "count": {"3"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("enqueue: %d", res.StatusCode)
	}
	if page := u.Get("/demo/jobs"); !strings.Contains(page.Body, "Enqueued 3 succeed job(s).") || strings.Count(page.Body, "demo_succeed") != 3 {
		t.Errorf("playground after enqueue: %.400s", page.Body)
	}
}

func TestMultipartUploadsLeaveNoTempFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cfg := trellistest.Config(t)
	cfg.Server.MaxBodyBytes = 20 << 20
	app, err := demo.New(context.Background(), cfg, adminPassword, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	s := trellistest.NewServer(t, app)
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("upload", "big.bin")
	_, _ = fw.Write([]byte(strings.Repeat("x", 9<<20))) // over the 8 MiB kept in memory
	_ = mw.Close()
	res := s.Do("POST", "/nowhere", strings.NewReader(body.String()), trellistest.NoCSRF(), trellistest.Header("Content-Type", mw.FormDataContentType()))
	if res.StatusCode == http.StatusInternalServerError {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "multipart-*")); len(left) > 0 {
		t.Errorf("temporary upload files left behind: %v", left)
	}
}
