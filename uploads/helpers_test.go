package uploads_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"testing"

	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/s3fake"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/trellistest"
	"github.com/trellis-go/trellis/uploads"
)

// part is one multipart part.
type part struct {
	field, filename, ctype string
	data                   []byte
}

func textPart(field, value string) part { return part{field: field, data: []byte(value)} }

// multipartBody builds a body and its Content-Type.
func multipartBody(t testing.TB, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" || p.ctype != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.field, p.filename))
			if p.ctype != "" {
				h.Set("Content-Type", p.ctype)
			}
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.field))
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	return &b, w.FormDataContentType()
}

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB) []byte {
	img := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegWithEXIF is a JPEG with an APP1 Exif segment carrying a marker text
// (as GPS data would be), right after SOI.
func jpegWithEXIF(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	payload := append([]byte("Exif\x00\x00"), []byte("GPS-SECRET-LOCATION 48.8584N 2.2945E")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, raw[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, raw[2:]...)
}

// pngBomb is a PNG header announcing w × h pixels (the data is absent:
// the header alone must get it refused).
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	return b.Bytes()
}

// policy is the test route's: an image avatar and text/PDF attachments;
// its Attach fails when the form says attach=fail.
var policy = uploads.Policy{
	Attach: func(_ context.Context, _ *sql.Tx, _ []*uploads.File, values url.Values) error {
		if values.Get("attach") == "fail" {
			return errors.New("attach refused")
		}
		return nil
	},
	Fields: []uploads.Field{
		{Name: "avatar", Types: []string{"image/png", "image/jpeg", "image/gif", "image/webp"}, MaxBytes: 1 << 20, Image: true, Thumbnail: 32},
		{Name: "doc", Types: []string{"text/plain", "application/pdf"}, MaxBytes: 1 << 20, MaxFiles: 3},
	},
	MaxFiles: 4,
}

type store string

const (
	localStore store = "local"
	s3Store    store = "s3"
)

// newApp builds an app on backend b with store s and a /up upload route
// answering the stored file ids as JSON.
func newApp(t *testing.T, b trellistest.Backend, s store, configure ...func(*config.Config)) *trellistest.App {
	t.Helper()
	opts := []trellistest.AppOption{trellistest.OnBackend(b)}
	if s == s3Store {
		fake := s3fake.Start(t)
		opts = append(opts, trellistest.Configure(func(c *config.Config) {
			c.Storage.Driver, c.Storage.S3Endpoint, c.Storage.S3Bucket = "s3", fake.URL, fake.Bucket
			c.Storage.S3AccessKey, c.Storage.S3SecretKey, c.Storage.S3PathStyle = fake.AccessKey, fake.SecretKey, true
		}))
	}
	for _, f := range configure {
		opts = append(opts, trellistest.Configure(f))
	}
	app := trellistest.NewApp(t, nil, opts...)
	a := app.App
	a.Upload("/up", a.Auth.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up, err := a.Files.Receive(r, auth.CurrentUser(r.Context()).ID, policy)
		if err != nil {
			a.Render.Error(w, r, err)
			return
		}
		ids := []int64{}
		for _, f := range up.Files {
			ids = append(ids, f.ID)
		}
		render.JSON(w, http.StatusOK, map[string]any{"ids": ids, "values": up.Values})
	})).ServeHTTP)
	app.CreateUser("alice@example.com", "correct horse battery")
	app.CreateUser("bob@example.com", "correct horse battery")
	return app
}

// upload posts parts to /up as htmx would (token in the header).
func upload(t testing.TB, s *trellistest.Server, parts ...part) *trellistest.Response {
	t.Helper()
	body, ctype := multipartBody(t, parts...)
	return s.Do(http.MethodPost, "/up", body, trellistest.Header("Content-Type", ctype))
}

func ids(t testing.TB, res *trellistest.Response) []int64 {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("upload: status %d\n%s", res.StatusCode, res.Body)
	}
	var out struct{ IDs []int64 }
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil {
		t.Fatalf("upload answer %q: %v", res.Body, err)
	}
	return out.IDs
}

func path(id int64) string { return "/files/" + strconv.FormatInt(id, 10) }
