package demo_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

type filePart struct{ field, name, ctype, data string }

// postFiles posts a multipart form as a browser without JavaScript does:
// the CSRF token as the first field.
func postFiles(t *testing.T, s *trellistest.Server, path string, htmx bool, parts ...filePart) *trellistest.Response {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("csrf_token", s.CSRFToken())
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.field, p.name))
		h.Set("Content-Type", p.ctype)
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write([]byte(p.data))
	}
	_ = w.Close()
	opts := []trellistest.RequestOption{trellistest.Header("Content-Type", w.FormDataContentType()), trellistest.NoCSRF()}
	if htmx {
		opts = append(opts, trellistest.HTMX("avatar-panel"))
	}
	return s.Do(http.MethodPost, path, &b, opts...)
}

func demoPNG(w, h int) string {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{255, 0, 0, 255})
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.String()
}

var fileLink = regexp.MustCompile(`/files/(\d+)`)

// storedObjects counts the objects in the local store.
func storedObjects(t *testing.T, dir string) int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(dir, "files"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, ".tmp") {
			n++
		}
		return nil
	})
	return n
}

func TestAvatar(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			var dir string
			s := newDemo(t, pg, func(c *config.Config) { dir = c.App.DataDir })
			u := signedIn(t, s, "face@example.com")
			page := u.Get("/account/avatar").AssertStatus(200).AssertContains("You have no avatar yet").AssertContains(`id="nav-avatar"`)
			if strings.Contains(page.Body, `<img src="/files/`) {
				t.Fatal("an avatar before any upload")
			}
			// Refused: not an image, too large — with the message beside the form.
			res := postFiles(t, u, "/account/avatar", false, filePart{"avatar", "me.png", "image/png", "<html><script>alert(1)</script></html>"})
			res.AssertStatus(422).AssertFullPage().AssertContains("text/html, which is not accepted here")
			res = postFiles(t, u, "/account/avatar", true, filePart{"avatar", "me.png", "image/png", demoPNG(10, 10) + strings.Repeat("x", 2<<20)})
			res.AssertStatus(413).AssertFragment().AssertContains(`id="avatar-panel"`).AssertContains("larger than the 2 MB allowed")
			if res.Header.Get("HX-Retarget") != "#avatar-panel" {
				t.Fatalf("413 fragment not retargeted: %v", res.Header)
			}
			postFiles(t, u, "/account/avatar", false, filePart{"avatar", "doc.txt", "text/plain", "hello"}).AssertStatus(422)
			if n := storedObjects(t, dir); n != 0 {
				t.Fatalf("%d objects after refused uploads", n)
			}
			// Accepted.
			postFiles(t, u, "/account/avatar", false, filePart{"avatar", "me.png", "image/png", demoPNG(300, 200)}).AssertRedirect("/account/avatar")
			page = u.Get("/account/avatar").AssertStatus(200).AssertContains("Avatar updated.")
			m := fileLink.FindStringSubmatch(page.Body)
			if m == nil {
				t.Fatalf("no avatar shown: %s", page.Body)
			}
			u.Get(m[0]).AssertStatus(200)
			s.AsNewVisitor().Get(m[0]).AssertStatus(404)
			signedIn(t, s, "other@example.com").Get(m[0]).AssertStatus(404)
			// The thumbnail job makes the header's small version.
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(u.Get("/").Body, `/files/`+m[1]+`/thumb`) {
				if time.Now().After(deadline) {
					t.Fatal("the header never showed the thumbnail")
				}
				time.Sleep(100 * time.Millisecond)
			}
			u.Get(m[0] + "/thumb").AssertStatus(200)
			// Replacing the avatar deletes the old file and its thumbnail.
			postFiles(t, u, "/account/avatar", false, filePart{"avatar", "new.gif", "image/gif", gifData()}).AssertRedirect("/account/avatar")
			u.Get(m[0]).AssertStatus(404)
			if n := storedObjects(t, dir); n != 1 && n != 2 {
				t.Fatalf("%d objects after replacing the avatar, want the new one (and its thumbnail if made yet)", n)
			}
		})
	}
}

func gifData() string {
	return "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
}

func TestNoteAttachments(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *trellistest.Server) {
		owner := signedIn(t, s, "attach@example.com")
		note := createNote(t, owner, "With files", "see attached")
		owner.Get(note).AssertStatus(200).AssertContains("No attachments.").AssertContains(`id="note-files-form"`)
		postFiles(t, owner, note+"/files", false,
			filePart{"file", "data.csv", "text/csv", "a,b\n1,2\n"},
			filePart{"file", "readme.txt", "text/plain", "hello"},
		).AssertRedirect(note)
		page := owner.Get(note).AssertStatus(200).AssertContains("readme.txt").AssertContains("data.csv")
		links := fileLink.FindAllString(page.Body, -1)
		if len(links) != 2 {
			t.Fatalf("attachment links %v", links)
		}
		res := owner.Get(links[1]).AssertStatus(200)
		if res.Body != "hello" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("attachment %q %v", res.Body, res.Header)
		}
		// Another user can neither read nor attach.
		other := signedIn(t, s, "snoop@example.com")
		other.Get(links[0]).AssertStatus(404)
		postFiles(t, other, note+"/files", false, filePart{"file", "x.txt", "text/plain", "x"}).AssertStatus(404)
		// Not on the allowlist, or disguised.
		postFiles(t, owner, note+"/files", false, filePart{"file", "page.html", "text/html", "<html><body>hi</body></html>"}).AssertStatus(422)
		postFiles(t, owner, note+"/files", false, filePart{"file", "a.txt", "text/plain", "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"}).AssertStatus(422)
		// Deleting the note deletes its files.
		owner.Do(http.MethodDelete, note, nil).AssertRedirect("/notes")
		for _, l := range links {
			owner.Get(l).AssertStatus(404)
		}
	})
}
