package multipart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	stdmultipart "mime/multipart"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// got is what a reader yields for one part.
type got struct {
	name, file string
	header     textproto.MIMEHeader
	data       string
}

func (g got) String() string {
	return fmt.Sprintf("{name %q file %q header %v data %q}", g.name, g.file, g.header, g.data)
}

// readAll reads every part of body with our reader.
func readAll(body io.Reader, boundary string) ([]got, error) {
	return collect(NewReader(body, boundary).NextPart, func(p *Part) textproto.MIMEHeader { return p.Header })
}

// readAllStd is readAll with mime/multipart.
func readAllStd(body io.Reader, boundary string) ([]got, error) {
	return collect(stdmultipart.NewReader(body, boundary).NextPart, func(p *stdmultipart.Part) textproto.MIMEHeader { return p.Header })
}

// collect reads every part next returns, until io.EOF.
func collect[P interface {
	io.Reader
	FormName() string
	FileName() string
}](next func() (P, error), header func(P) textproto.MIMEHeader) ([]got, error) {
	var parts []got
	for {
		p, err := next()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return parts, err
		}
		parts = append(parts, got{p.FormName(), p.FileName(), header(p), string(b)})
	}
}

// readers are the ways a body is handed over, to split it at every place.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data and EOF", iotest.DataErrReader},
}

func TestReader(t *testing.T) {
	const b = "BOUNDARY"
	cd := func(name string) textproto.MIMEHeader {
		return textproto.MIMEHeader{"Content-Disposition": {`form-data; name="` + name + `"`}}
	}
	file := textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="doc"; filename="C:\\dir/a.txt"`},
		"Content-Type":        {"text/plain"},
	}
	tests := []struct {
		name  string
		body  string
		want  []got
		isErr error // nil: success; errAny: some error
		// stdOK: mime/multipart reads the parts before the cut without
		// an error (NextPart returns io.EOF for a header cut off).
		stdOK bool
	}{
		{name: "one value",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--BOUNDARY--\r\n",
			want: []got{{"a", "", cd("a"), "hello"}}},
		{name: "no parts",
			body: "--BOUNDARY--\r\n"},
		{name: "close delimiter at the end of the body, no line end",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--BOUNDARY--",
			want: []got{{"a", "", cd("a"), "x"}}},
		{name: "preamble and epilogue",
			body: "This is a preamble.\r\n--BOUNDARYnot\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--BOUNDARY--\r\nepilogue\r\n--BOUNDARY\r\ngarbage",
			want: []got{{"a", "", cd("a"), "v"}}},
		{name: "transport padding",
			body: "--BOUNDARY \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--BOUNDARY\t\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nw\r\n--BOUNDARY-- \t\r\n",
			want: []got{{"a", "", cd("a"), "v"}, {"b", "", cd("b"), "w"}}},
		{name: "empty part and a part without headers",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--BOUNDARY\r\n\r\nraw\r\n--BOUNDARY--\r\n",
			want: []got{{"a", "", cd("a"), ""}, {"", "", textproto.MIMEHeader{}, "raw"}}},
		{name: "empty part with the delimiter right after its header",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--BOUNDARY--\r\n",
			want: []got{{"a", "", cd("a"), ""}}},
		{name: "file and values",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n" +
				"--BOUNDARY\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"C:\\\\dir/a.txt\"\r\nContent-Type: text/plain\r\n\r\nline 1\nline 2\n\r\n" +
				"--BOUNDARY\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nhi\r\n--BOUNDARY--\r\n",
			want: []got{{"csrf_token", "", cd("csrf_token"), "tok"}, {"doc", "a.txt", file, "line 1\nline 2\n"}, {"caption", "", cd("caption"), "hi"}}},
		{name: "lookalikes of the delimiter in the data",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" +
				"x\r\n--BOUNDARYX\r\n--BOUNDARY\r\r\n--BOUNDARYY--" +
				"\r\n--BOUNDARY--\r\n",
			// "\r\n--BOUNDARY" then "\r" is a delimiter, on a bad line:
			// mime/multipart fails too.
			isErr: errAny},
		{name: "lookalikes only",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" +
				"x\r\n--BOUNDARYX\r\n--BOUNDARY-x\r\n--BOUNDAR\n--BOUNDARY\r\n--BOUNDARYY--\r\n-" +
				"\r\n--BOUNDARY--\r\n",
			want: []got{{"a", "", cd("a"), "x\r\n--BOUNDARYX\r\n--BOUNDARY-x\r\n--BOUNDAR\n--BOUNDARY\r\n--BOUNDARYY--\r\n-"}}},
		{name: "bare LF line ends",
			body: "--BOUNDARY\nContent-Disposition: form-data; name=\"a\"\n\nv\r\n\n--BOUNDARY\nContent-Disposition: form-data; name=\"b\"\n\nw\n--BOUNDARY--\n",
			want: []got{{"a", "", cd("a"), "v\r\n"}, {"b", "", cd("b"), "w"}}},
		{name: "quoted-printable",
			body: "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n--BOUNDARY--\r\n",
			want: []got{{"a", "", cd("a"), "a=bc"}}},
		{name: "padding too long",
			body:  "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--BOUNDARY" + strings.Repeat(" ", 5000) + "\r\n\r\nw\r\n--BOUNDARY--\r\n",
			isErr: errAny},
		{name: "body cut off in the data",
			body:  "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello",
			isErr: io.ErrUnexpectedEOF},
		{name: "body cut off in the delimiter",
			body:  "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--BOUND",
			isErr: io.ErrUnexpectedEOF},
		{name: "body cut off after the delimiter",
			body:  "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--BOUNDARY",
			isErr: errAny},
		{name: "body cut off in the header",
			body:  "--BOUNDARY\r\nContent-Disposition: form-da",
			isErr: io.ErrUnexpectedEOF, stdOK: true},
		{name: "no boundary at all",
			body:  "just some text\r\nand more\r\n",
			isErr: io.ErrUnexpectedEOF},
		{name: "empty body",
			isErr: io.ErrUnexpectedEOF},
		{name: "garbage after the boundary line",
			body:  "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--BOUNDARY x\r\n\r\nw\r\n--BOUNDARY--\r\n",
			isErr: errAny},
		{name: "garbage after the close delimiter",
			body:  "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--BOUNDARY--x\r\n",
			isErr: errAny},
		{name: "malformed header",
			body:  "--BOUNDARY\r\nno colon here\r\n\r\nv\r\n--BOUNDARY--\r\n",
			isErr: errAny},
		{name: "huge header",
			body:  "--BOUNDARY\r\nX-Big: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n\r\nv\r\n--BOUNDARY--\r\n",
			isErr: ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				parts, err := readAll(rd.wrap(strings.NewReader(tt.body)), b)
				switch {
				case tt.isErr == nil && err != nil:
					t.Fatalf("error %v (parts %v)", err, parts)
				case tt.isErr == errAny && err == nil, tt.isErr != nil && tt.isErr != errAny && !errors.Is(err, tt.isErr):
					t.Fatalf("error %v, want %v", err, tt.isErr)
				}
				if (tt.isErr == nil || tt.want != nil) && !sameParts(parts, tt.want) {
					t.Fatalf("parts\n%v\nwant\n%v", parts, tt.want)
				}
				// mime/multipart agrees, but on the header limit.
				if tt.isErr != ErrHeaderTooLarge && !tt.stdOK {
					std, stdErr := readAllStd(strings.NewReader(tt.body), b)
					if (err == nil) != (stdErr == nil) || err == nil && !sameParts(parts, std) {
						t.Fatalf("mime/multipart: %v %v", std, stdErr)
					}
				}
			})
		}
	}
}

var errAny = errors.New("any error")

func sameParts(a, b []got) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.name != y.name || x.file != y.file || x.data != y.data || len(x.header) != len(y.header) ||
			len(x.header) > 0 && !reflect.DeepEqual(x.header, y.header) {
			return false
		}
	}
	return true
}

// TestLargeParts puts the delimiter at every offset around the window's
// edge and reads with buffers of several sizes.
func TestLargeParts(t *testing.T) {
	const b = "xYz0123456789"
	for _, size := range []int{BufferSize - 40, BufferSize - 17, BufferSize - 1, BufferSize, BufferSize + 1, BufferSize + 13, 2*BufferSize + 5, 3*BufferSize - 7} {
		for _, pattern := range []string{"abcdefghijklmnopqrstuvwxyz\n", "ab\r\ncd\r\n--xYz012345678\r\n-", "\r"} {
			data := strings.Repeat(pattern, size/len(pattern)+1)[:size]
			body := "--" + b + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\n\r\n" + data +
				"\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"g\"\r\n\r\n" + data[:size/3] + "\r\n--" + b + "--\r\n"
			for _, bufLen := range []int{1, 100, 3072, 32 << 10, 1 << 20} {
				mr := NewReader(iotest.HalfReader(strings.NewReader(body)), b)
				var out []string
				for {
					p, err := mr.NextPart()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					var sb strings.Builder
					buf := make([]byte, bufLen)
					for {
						n, err := p.Read(buf)
						sb.Write(buf[:n])
						if err == io.EOF {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
					}
					out = append(out, sb.String())
				}
				if len(out) != 2 || out[0] != data || out[1] != data[:size/3] {
					t.Fatalf("size %d pattern %q buf %d: got %d parts, lengths %v", size, pattern, bufLen, len(out), lens(out))
				}
			}
		}
	}
}

func lens(s []string) []int {
	var n []int
	for _, x := range s {
		n = append(n, len(x))
	}
	return n
}

// TestSkipAndUnread checks that NextPart skips the rest of a part, and that
// mime/multipart can go on with the body Unread returns.
func TestSkipAndUnread(t *testing.T) {
	var body bytes.Buffer
	w := stdmultipart.NewWriter(&body)
	big := strings.Repeat("0123456789abcdef\n", 20000)
	_ = w.WriteField("csrf_token", "tok")
	fw, _ := w.CreateFormFile("doc", "a.txt")
	_, _ = io.WriteString(fw, big)
	_ = w.WriteField("caption", "hi")
	_ = w.Close()

	// Skip the file half read.
	mr := NewReader(bytes.NewReader(body.Bytes()), w.Boundary())
	p, _ := mr.NextPart()
	p, _ = mr.NextPart()
	if _, err := io.ReadFull(p, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "caption" {
		t.Fatalf("%v %v", p, err)
	}
	if n, err := p.Read(nil); n != 0 || err != nil {
		t.Fatal(n, err)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatal(err)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatal("not sticky:", err)
	}

	// Read the first part, half of the second, then hand over; and hand
	// over at the start and at the end.
	for _, after := range []int{0, 1, 2, 4} {
		mr := NewReader(iotest.HalfReader(bytes.NewReader(body.Bytes())), w.Boundary())
		for i := range after {
			p, err := mr.NextPart()
			if i == 3 {
				if err != io.EOF {
					t.Fatal(err)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				_, _ = io.ReadFull(p, make([]byte, 100))
			}
		}
		rest, err := mr.Unread()
		if err != nil {
			t.Fatal(err)
		}
		parts, err := readAllStd(rest, w.Boundary())
		if err != nil {
			t.Fatal(after, err)
		}
		want := []string{"csrf_token", "doc", "caption"}
		if after >= 2 {
			want = want[2:]
		} else {
			want = want[after:]
		}
		if after == 4 {
			want = nil
		}
		var names []string
		for _, p := range parts {
			names = append(names, p.name)
		}
		if !reflect.DeepEqual(names, want) {
			t.Fatalf("after %d: %v, want %v", after, names, want)
		}
		if _, err := mr.NextPart(); err == nil {
			t.Fatal("NextPart after Unread")
		}
	}
}

// TestReadErrors checks that an error reading the body comes back as it is.
func TestReadErrors(t *testing.T) {
	boom := errors.New("boom")
	body := "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + strings.Repeat("x", 100000)
	mr := NewReader(io.MultiReader(strings.NewReader(body), iotest.ErrReader(boom)), "B")
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(p)
	if !errors.Is(err, boom) || len(b) != 100000 {
		t.Fatalf("%d %v", len(b), err)
	}
	if _, err := mr.NextPart(); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := NewReader(strings.NewReader(body), "").NextPart(); err == nil {
		t.Fatal("empty boundary accepted")
	}
	long := strings.Repeat("b", maxBoundary+1)
	if _, err := NewReader(strings.NewReader("--"+long+"\r\n\r\n\r\n--"+long+"--"), long).NextPart(); err == nil {
		t.Fatal("long boundary accepted")
	}
}

// FuzzAgainstStdlib checks that every body mime/multipart reads without
// error yields the same parts here, whatever the reads' sizes, and that no
// body makes this reader panic.
func FuzzAgainstStdlib(f *testing.F) {
	var seed bytes.Buffer
	w := stdmultipart.NewWriter(&seed)
	_ = w.SetBoundary("BoUnDaRy")
	_ = w.WriteField("csrf_token", "tok")
	fw, _ := w.CreateFormFile("doc", "dir/a.txt")
	_, _ = io.WriteString(fw, "line\nline\r\n--BoUnDaRyX\r\n--BoUnDaR")
	_ = w.WriteField("empty", "")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="q"`)
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, _ := w.CreatePart(h)
	_, _ = io.WriteString(pw, "a=3Db=\r\nc")
	_ = w.Close()
	s := seed.String()
	for _, body := range []string{
		s,
		"preamble\r\n" + s + "epilogue",
		strings.ReplaceAll(s, "\r\n", "\n"),
		strings.ReplaceAll(s, "--BoUnDaRy\r\n", "--BoUnDaRy \t\r\n"),
		strings.Replace(s, "\r\n\r\n", "\r\n\r\n--BoUnDaRy", 1),
		s[:len(s)-10],
		strings.Replace(s, "\r\n\r\n", "\r\n", 1),
		"--BoUnDaRy\r\n\r\n--BoUnDaRy--",
		"--BoUnDaRy\r\nA: b\r\n c\r\n\r\nx\r\n--BoUnDaRy--",
	} {
		for _, chunk := range []uint8{0, 1, 7} {
			f.Add([]byte(body), "BoUnDaRy", chunk)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, boundary string, chunk uint8) {
		var src io.Reader = bytes.NewReader(body)
		if chunk > 0 {
			src = &chunkReader{r: src, n: int(chunk)}
		}
		parts, err := readAll(src, boundary)
		std, stdErr := readAllStd(bytes.NewReader(body), boundary)
		if stdErr != nil {
			return
		}
		if errors.Is(err, ErrHeaderTooLarge) || len(boundary) > maxBoundary {
			return // limits mime/multipart does not have
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && sameParts(parts, std) {
			// mime/multipart's NextPart returns io.EOF for a body cut off
			// in a part's header.
			return
		}
		if err != nil {
			t.Fatalf("mime/multipart read %v; error %v", std, err)
		}
		if !sameParts(parts, std) {
			t.Fatalf("parts\n%v\nmime/multipart\n%v", parts, std)
		}
	})
}

// chunkReader returns at most n bytes a read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}
