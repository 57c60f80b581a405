package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	stdmultipart "mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	"github.com/trellis-go/trellis/internal/multipart"
	"github.com/trellis-go/trellis/internal/streamed"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/storage"
)

// Field is the policy of one file input.
type Field struct {
	// Name is the input's name.
	Name string
	// Types are the allowed types, as detected from the bytes (such as
	// "image/png" or "application/pdf").
	Types []string
	// MaxBytes caps one file (0: storage.max_file_bytes).
	MaxBytes int64
	// MaxFiles caps the files in this input (0: 1).
	MaxFiles int
	// Required refuses a request without a file in this input.
	Required bool
	// Image decodes each file with storage.max_pixels as the limit and
	// re-encodes it, which drops metadata such as EXIF and GPS (WebP is
	// re-encoded as PNG). Types must list image types only.
	Image bool
	// Thumbnail, for images, is the longest side of a thumbnail a job
	// makes after the upload (0: none).
	Thumbnail int
}

// Policy is what one upload request may carry.
type Policy struct {
	// Fields are the file inputs accepted; a file in any other input is
	// refused.
	Fields []Field
	// MaxFiles caps the files in the request (0: storage.max_files).
	MaxFiles int
	// MaxBytes caps the request body (0: storage.max_request_bytes).
	MaxBytes int64
	// Attach, when set, runs in the transaction that makes the files
	// ready, with the request's other form values: record there what the
	// files belong to. An error undoes the whole upload.
	Attach func(ctx context.Context, tx *sql.Tx, files []*File, values url.Values) error
}

// Upload is what Receive stored.
type Upload struct {
	// Files are the stored files, in the order they were sent.
	Files []*File
	// Values are the form's other fields.
	Values url.Values
}

// Limits on the non-file fields of an upload form.
const (
	maxValues     = 100
	maxValueBytes = 64 << 10
	sniffBytes    = 3072
)

// Receive reads r's multipart body part by part, storing each file as its
// field allows, for owner (a user ID, 0 for none). It returns a
// *render.Error for bad input — 413 when a file, the file count or the
// body passes its limit (without reading the rest), 422 for a type not
// allowed or not matching the claimed type or extension, 400 for a
// malformed body — whose Message says what to fix; Message gives it for
// an inline form error. On any error nothing stays stored.
func (m *Manager) Receive(r *http.Request, owner int64, p Policy) (*Upload, error) {
	ctx := r.Context()
	maxBytes := p.MaxBytes
	if maxBytes <= 0 {
		maxBytes = m.cfg.MaxRequestBytes
	}
	maxFiles := p.MaxFiles
	if maxFiles <= 0 {
		maxFiles = m.cfg.MaxFiles
	}
	if r.ContentLength > maxBytes {
		return nil, tooLarge(fmt.Sprintf("The upload is %s; at most %s can be sent at once.", humanBytes(r.ContentLength), humanBytes(maxBytes)))
	}
	if r.MultipartForm != nil {
		return nil, errors.New("uploads: the body was already parsed; register the route with App.Upload (or middleware.Streamed) so it is streamed")
	}
	nextPart, err := multipartParts(r)
	if err != nil {
		return nil, &render.Error{Status: http.StatusBadRequest, Message: "The upload must be sent as a multipart form.", Err: err}
	}
	body := &countingBody{max: maxBytes}
	up := &Upload{Values: url.Values{}}
	var stored []*File
	ok := false
	defer func() {
		if !ok {
			m.discard(r.Context(), stored)
		}
	}()
	perField := map[string]int{}
	nValues := 0
	for {
		part, err := nextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readError(err)
		}
		name := part.FormName()
		if part.FileName() == "" && !hasFilenameParam(part.Header) {
			nValues++
			if nValues > maxValues {
				return nil, tooLarge("The form has too many fields.")
			}
			v, err := io.ReadAll(io.LimitReader(part, maxValueBytes+1))
			if err != nil {
				return nil, readError(err)
			}
			if len(v) > maxValueBytes {
				return nil, tooLarge(fmt.Sprintf("The field %q is too long.", name))
			}
			if !utf8.Valid(v) || bytes.IndexByte(v, 0) >= 0 || !utf8.ValidString(name) {
				return nil, &render.Error{Status: http.StatusBadRequest, Message: "The form contains text that is not UTF-8 or contains a NUL byte.", Err: middleware.ErrBadText}
			}
			up.Values.Add(name, string(v))
			continue
		}
		field := p.field(name)
		if field == nil {
			return nil, unprocessable(fmt.Sprintf("This form does not accept a file in %q.", cleanText(name, 40)))
		}
		f, err := m.receiveFile(ctx, part, field, owner, body, m.fieldMax(field))
		if errors.Is(err, errEmpty) {
			continue // an input left empty: browsers send a part with no name and no bytes
		}
		if f != nil {
			stored = append(stored, f)
		}
		if err != nil {
			return nil, err
		}
		perField[name]++
		if perField[name] > max(field.MaxFiles, 1) {
			return nil, tooLarge(fmt.Sprintf("At most %d file(s) can be sent in %s.", max(field.MaxFiles, 1), field.Name))
		}
		if len(stored) > maxFiles {
			return nil, tooLarge(fmt.Sprintf("At most %d files can be sent at once.", maxFiles))
		}
		up.Files = append(up.Files, f)
	}
	for _, fl := range p.Fields {
		if fl.Required && perField[fl.Name] == 0 {
			return nil, unprocessable("Choose a file to upload.")
		}
	}
	if err := m.commit(ctx, up, p); err != nil {
		return nil, err
	}
	ok = true
	return up, nil
}

// formPart is one part of the body, read with internal/multipart or,
// when the handler already reads the body with middleware.MultipartReader,
// with mime/multipart.
type formPart struct {
	io.Reader // the data
	Header    textproto.MIMEHeader
	name      string
	filename  string
}

func (p *formPart) FormName() string { return p.name }
func (p *formPart) FileName() string { return p.filename }

// multipartParts returns the function that reads the next part of r's
// multipart body (io.EOF after the last): with internal/multipart, which
// reads text files faster than mime/multipart, unless the body is already
// read with middleware.MultipartReader's reader (for a streamed request
// that the handler began reading with it), which must then go on. It
// refuses a body that is not multipart/form-data.
func multipartParts(r *http.Request) (func() (*formPart, error), error) {
	st, ok := streamed.FromContext(r.Context())
	if !ok {
		b, err := streamed.Boundary(r)
		if err != nil {
			return nil, err
		}
		return partsOf(multipart.NewReader(r.Body, b).NextPart, func(p *multipart.Part) textproto.MIMEHeader { return p.Header }), nil
	}
	mr, err := st.Reader(r)
	if errors.Is(err, streamed.ErrStdReader) {
		std, err := middleware.MultipartReader(r)
		if err != nil {
			return nil, err
		}
		return partsOf(std.NextPart, func(p *stdmultipart.Part) textproto.MIMEHeader { return p.Header }), nil
	}
	if err != nil {
		return nil, err
	}
	return partsOf(mr.NextPart, func(p *multipart.Part) textproto.MIMEHeader { return p.Header }), nil
}

// partsOf turns next, which returns either reader's parts, into one that
// returns formParts.
func partsOf[P interface {
	io.Reader
	FormName() string
	FileName() string
}](next func() (P, error), header func(P) textproto.MIMEHeader) func() (*formPart, error) {
	return func() (*formPart, error) {
		p, err := next()
		if err != nil {
			return nil, err
		}
		return &formPart{Reader: p, Header: header(p), name: p.FormName(), filename: p.FileName()}, nil
	}
}

func (p *Policy) field(name string) *Field {
	for i := range p.Fields {
		if p.Fields[i].Name == name {
			return &p.Fields[i]
		}
	}
	return nil
}

func (m *Manager) fieldMax(f *Field) int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return m.cfg.MaxFileBytes
}

var errEmpty = errors.New("empty file input")

// receiveFile sniffs, checks and stores one file part. It returns the
// record (with its pending row) whenever something was written, so the
// caller can discard it on error.
func (m *Manager) receiveFile(ctx context.Context, part *formPart, field *Field, owner int64, body *countingBody, limit int64) (*File, error) {
	name := SanitizeName(part.FileName())
	head := make([]byte, sniffBytes)
	n, err := io.ReadFull(part, head)
	head = head[:n]
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, readError(err)
	}
	if n == 0 && name == "" {
		return nil, errEmpty
	}
	if n == 0 {
		return nil, unprocessable(fmt.Sprintf("%s is empty.", quoteName(name)))
	}
	detected := mimetype.Detect(head)
	ctype := baseType(detected.String())
	if !allowed(detected, field.Types) {
		return nil, unprocessable(fmt.Sprintf("%s is %s, which is not accepted here. Accepted: %s.", quoteName(name), ctype, strings.Join(field.Types, ", ")))
	}
	if claimed := baseType(part.Header.Get("Content-Type")); claimed != "" && claimed != "application/octet-stream" && !detected.Is(claimed) {
		return nil, unprocessable(fmt.Sprintf("%s was sent as %s but its content is %s.", quoteName(name), claimed, ctype))
	}
	if ext := strings.ToLower(path.Ext(name)); ext != "" && !extensionFits(ext, detected) {
		return nil, unprocessable(fmt.Sprintf("%s has the extension %s but its content is %s.", quoteName(name), ext, ctype))
	}
	src := io.MultiReader(bytes.NewReader(head), part)
	f := &File{OwnerID: owner, Key: storage.NewKey(), Field: field.Name, ContentType: ctype, Name: name, CreatedAt: m.now().UTC()}
	if field.Image {
		img, err := m.reencode(src, limit, body)
		if err != nil {
			return nil, err
		}
		f.ContentType, f.Width, f.Height = img.ctype, img.width, img.height
		if img.ctype != ctype {
			f.Name = strings.TrimSuffix(name, path.Ext(name)) + img.ext
		}
		if err := m.insertPending(ctx, f); err != nil {
			return nil, err
		}
		// The upload was checked against the limit while it was read;
		// its re-encoding is stored as it is, whatever its size.
		if err := m.Store.Put(ctx, f.Key, bytes.NewReader(img.data), int64(len(img.data)), f.ContentType); err != nil {
			return f, fmt.Errorf("uploads: storing %s: %w", f.Key, err)
		}
		sum := sha256.Sum256(img.data)
		f.SHA256, f.Size = hex.EncodeToString(sum[:]), int64(len(img.data))
		return f, nil
	}
	if err := m.insertPending(ctx, f); err != nil {
		return nil, err
	}
	lr := &limitReader{r: src, limit: limit, body: body}
	h := newAsyncHasher()
	defer h.finish()
	if err := m.Store.Put(ctx, f.Key, io.TeeReader(lr, h), -1, f.ContentType); err != nil {
		if lr.err != nil {
			return f, lr.err
		}
		return f, fmt.Errorf("uploads: storing %s: %w", f.Key, err)
	}
	if lr.err != nil { // a store that stops reading early
		return f, lr.err
	}
	f.SHA256, f.Size = h.Sum()
	return f, nil
}

// commit makes every file ready, runs Attach and enqueues thumbnails, in
// one transaction.
func (m *Manager) commit(ctx context.Context, up *Upload, p Policy) error {
	tx, err := m.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, f := range up.Files {
		if err := m.markReady(ctx, tx, f); err != nil {
			return err
		}
		if fl := p.field(f.Field); fl != nil && fl.Image && fl.Thumbnail > 0 && m.jobs != nil {
			if _, err := m.jobs.EnqueueTx(ctx, tx, ThumbnailArgs{FileID: f.ID, Size: fl.Thumbnail}, nil); err != nil {
				return fmt.Errorf("uploads: enqueueing a thumbnail: %w", err)
			}
		}
	}
	if p.Attach != nil {
		if err := p.Attach(ctx, tx, up.Files, up.Values); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	return nil
}

// allowed reports whether the detected type is one of types.
func allowed(detected *mimetype.MIME, types []string) bool {
	return slices.ContainsFunc(types, func(t string) bool { return detected.Is(t) })
}

// extensionFits reports whether ext is a usual extension of the detected
// type.
func extensionFits(ext string, detected *mimetype.MIME) bool {
	if ext == detected.Extension() {
		return true
	}
	if exts, _ := mime.ExtensionsByType(baseType(detected.String())); slices.Contains(exts, ext) {
		return true
	}
	return slices.Contains(extraExtensions[baseType(detected.String())], ext)
}

// extraExtensions are spellings the system MIME table may lack.
var extraExtensions = map[string][]string{
	"image/jpeg":      {".jpg", ".jpeg", ".jpe", ".jfif"},
	"image/png":       {".png"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"text/plain":      {".txt", ".text", ".log", ".md", ".csv"},
	"application/pdf": {".pdf"},
	"application/zip": {".zip"},
}

func baseType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return ""
	}
	return mt
}

func hasFilenameParam(h textproto.MIMEHeader) bool {
	_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return false
	}
	_, ok := params["filename"]
	return ok
}

// SanitizeName reduces a client's file name to something safe to show and
// to put in a Content-Disposition header: the last path element, without
// control or formatting characters (bidirectional overrides included) or
// quotes, at most 100 characters. It is metadata only, never a path.
func SanitizeName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '"', r == '\u2028', r == '\u2029':
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, ". "))
	if utf8.RuneCountInString(name) > 100 {
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 10 {
			ext = ""
		}
		name = string([]rune(name)[:100-utf8.RuneCountInString(ext)]) + ext
	}
	return name
}

func cleanText(s string, n int) string {
	s = SanitizeName(s)
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}

func quoteName(name string) string {
	if name == "" {
		return "The file"
	}
	return "“" + name + "”"
}

// limitReader fails with a 413 error once more than left bytes of one
// file, or of the whole body, have been read.
type limitReader struct {
	r     io.Reader
	limit int64
	read  int64
	body  *countingBody
	err   error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.limit {
		l.err = tooLarge(fmt.Sprintf("The file is larger than the %s allowed.", humanBytes(l.limit)))
		return 0, l.err
	}
	if e := l.body.add(n); e != nil {
		l.err = e
		return 0, l.err
	}
	if err != nil && err != io.EOF {
		l.err = readError(err)
		return n, l.err
	}
	return n, err
}

// countingBody adds up the file bytes of a request against its limit.
type countingBody struct{ n, max int64 }

func (c *countingBody) add(n int) error {
	c.n += int64(n)
	if c.n > c.max {
		return tooLarge(fmt.Sprintf("The upload is larger than the %s that can be sent at once.", humanBytes(c.max)))
	}
	return nil
}

func tooLarge(msg string) *render.Error {
	return &render.Error{Status: http.StatusRequestEntityTooLarge, Message: msg}
}

func unprocessable(msg string) *render.Error {
	return &render.Error{Status: http.StatusUnprocessableEntity, Message: msg}
}

// readError classifies a failure reading the body: over the request limit
// (413), or cut off or malformed (400).
func readError(err error) error {
	var re *render.Error
	if errors.As(err, &re) {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &render.Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("The upload is larger than the %s that can be sent at once.", humanBytes(mbe.Limit)), Err: err}
	}
	return &render.Error{Status: http.StatusBadRequest, Message: "The upload was cut off or is malformed. Try again.", Err: err}
}

// Message is the text to show for an error Receive returned, such as
// beside the upload form.
func Message(err error) string {
	var re *render.Error
	if errors.As(err, &re) && re.Status < 500 && re.Message != "" {
		return re.Message
	}
	return "The upload failed. Try again later."
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
