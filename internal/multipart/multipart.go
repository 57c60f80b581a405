// Package multipart reads a multipart/form-data body (RFC 7578, RFC 2046)
// part by part as a stream. It yields what mime/multipart's NextPart does,
// except that a part's header is limited to MaxHeaderBytes and a body cut
// off in a part's header is an error (mime/multipart reports a clean end).
//
// It exists for upload throughput: mime/multipart reads through a 4 KB
// window and, for each window without a boundary, scans it backwards byte
// by byte for a '\r'; on text with Unix line endings that cost about 20%
// of an upload's CPU. This reader looks for the delimiter with bytes.Index
// over a 64 KB window and hands out all of it but the few bytes that could
// begin a delimiter.
package multipart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"path/filepath"
	"strings"
)

// BufferSize is the size of the window the body is read through, besides
// room for the boundary. One read of the body fills at most this much.
const BufferSize = 64 << 10

// MaxHeaderBytes caps the header block of one part.
const MaxHeaderBytes = 16 << 10

// ErrHeaderTooLarge is returned by NextPart for a part whose header block
// is larger than MaxHeaderBytes.
var ErrHeaderTooLarge = errors.New("multipart: part header too large")

// maxBoundary caps the boundary's length, which every read of the body
// may rescan (RFC 2046 allows 70 bytes; mime/multipart fails past about
// 4 KB).
const maxBoundary = 4000

// maxPadding caps the spaces and tabs after a boundary (mime/multipart
// takes lines of up to 4 KB).
const maxPadding = 4 << 10

// maxEmptyReads is how many reads in a row may return nothing before the
// body counts as stuck (io.ErrNoProgress).
const maxEmptyReads = 100

// Reader reads the parts of a multipart body in order.
//
// A boundary is recognised only at the start of a line: the first one
// after an optional preamble, the next ones as "\r\n--" followed by the
// boundary and then "--", spaces or tabs, or a line end. Like
// mime/multipart it also takes bodies whose lines end in a bare "\n",
// when the first boundary line does.
type Reader struct {
	src    io.Reader
	buf    []byte
	r, w   int   // buf[r:w] is read from src and not yet consumed
	srcErr error // the error src returned, once it did (io.EOF at its end)

	dash   []byte // "--boundary"
	nl     []byte // the line end: "\r\n", or "\n" in bare LF mode
	nlDash []byte // nl followed by dash: what ends a part's data

	// known bytes from r on are data of the current part; end says the
	// part's delimiter follows them.
	known int
	end   bool

	part     *Part
	parts    int   // parts begun
	midLine  bool  // in the preamble, r is not at the start of a line
	err      error // sticky: io.EOF after the close delimiter, or the failure
	unreadOK bool  // Unread was called
}

// NewReader returns a Reader of the multipart body read from r, whose
// parts are separated by boundary (the boundary parameter of the request's
// Content-Type).
func NewReader(r io.Reader, boundary string) *Reader {
	if len(boundary) > maxBoundary {
		boundary = boundary[:maxBoundary+1] // NextPart refuses it
	}
	dash := "--" + boundary
	nlDash := []byte("\r\n" + dash)
	return &Reader{
		src:    r,
		buf:    make([]byte, BufferSize+2*len(nlDash)+2),
		dash:   nlDash[2:],
		nl:     nlDash[:2],
		nlDash: nlDash,
	}
}

// Part is one part of a multipart body. Read reads its data; it is valid
// until the next call of NextPart.
type Part struct {
	// Header is the part's header. A "Content-Transfer-Encoding:
	// quoted-printable" header is removed and the data decoded, as
	// mime/multipart does.
	Header textproto.MIMEHeader

	mr     *Reader
	total  int64 // data bytes read (before any decoding)
	done   bool
	err    error     // why Read stops: io.EOF at the part's end
	qp     io.Reader // the decoder, for a quoted-printable part
	parsed bool
	disp   string
	params map[string]string
}

// NextPart returns the body's next part, after skipping what is unread of
// the current one. It returns io.EOF after the close delimiter, and another
// error for a malformed body: io.ErrUnexpectedEOF (wrapped) when the body
// ends before the close delimiter, ErrHeaderTooLarge for a header block
// over MaxHeaderBytes, or what reading the body returned. A boundary over
// 4000 bytes is refused.
func (mr *Reader) NextPart() (*Part, error) {
	if mr.err != nil {
		return nil, mr.err
	}
	if mr.unreadOK {
		return nil, errors.New("multipart: NextPart after Unread")
	}
	if len(mr.dash) == 2 {
		mr.err = errors.New("multipart: the boundary is empty")
		return nil, mr.err
	}
	if len(mr.dash) > 2+maxBoundary {
		mr.err = errors.New("multipart: the boundary is too long")
		return nil, mr.err
	}
	p, err := mr.nextPart()
	if err != nil {
		if err != io.EOF && !strings.HasPrefix(err.Error(), "multipart:") {
			err = fmt.Errorf("multipart: %w", err)
		}
		mr.err = err
		mr.part = nil
		return nil, err
	}
	mr.part = p
	return p, nil
}

func (mr *Reader) nextPart() (*Part, error) {
	if p := mr.part; p != nil {
		if err := mr.skipPart(p); err != nil {
			return nil, err
		}
	}
	if mr.parts == 0 {
		if err := mr.skipPreamble(); err != nil {
			return nil, err
		}
	} else {
		// The previous part's data stopped at nl+dash (or at dash, when
		// it was empty and its header was followed right away by it).
		if bytes.HasPrefix(mr.buf[mr.r:mr.w], mr.nl) {
			mr.r += len(mr.nl)
		}
		for {
			kind, n := mr.classify(mr.buf[mr.r:mr.w], mr.srcErr != nil)
			switch kind {
			case lineNext:
				mr.r += n
			case lineFinal:
				return nil, io.EOF
			case lineMore:
				if err := mr.fillForLine(); err != nil {
					return nil, err
				}
				continue
			default:
				return nil, errors.New("multipart: expecting a boundary line after a part")
			}
			break
		}
	}
	mr.parts++
	return mr.readHeader()
}

// skipPart consumes what is left of p's data.
func (mr *Reader) skipPart(p *Part) error {
	for !p.done {
		if err := mr.advance(p.total); err != nil {
			p.done, p.err = true, err
			return err
		}
		p.total += int64(mr.known)
		mr.r += mr.known
		mr.known = 0
		if mr.end {
			p.done, p.err = true, io.EOF
		}
	}
	if p.err != io.EOF {
		return p.err
	}
	mr.end = false
	return nil
}

// skipPreamble consumes the lines before the first boundary line and that
// line, or returns io.EOF when the first boundary is the close delimiter.
func (mr *Reader) skipPreamble() error {
	for {
		window := mr.buf[mr.r:mr.w]
		eof := mr.srcErr != nil
		if !mr.midLine {
			kind, n := mr.classify(window, eof)
			switch kind {
			case lineNext:
				mr.r += n
				return nil
			case lineNextLF:
				mr.nl, mr.nlDash = mr.nl[1:], mr.nlDash[1:]
				mr.r += n
				return nil
			case lineFinal:
				return io.EOF
			case lineMore:
				if err := mr.fillForLine(); err != nil {
					return err
				}
				continue
			}
		}
		if i := bytes.IndexByte(window, '\n'); i >= 0 {
			mr.r += i + 1
			mr.midLine = false
			continue
		}
		if eof {
			return mr.cutOff()
		}
		mr.r = mr.w
		mr.midLine = true
		mr.fill()
	}
}

// fillForLine reads more of the body to decide about a boundary line.
func (mr *Reader) fillForLine() error {
	if mr.srcErr != nil {
		return mr.cutOff()
	}
	if mr.w-mr.r > len(mr.dash)+2+maxPadding || mr.r == 0 && mr.w == len(mr.buf) {
		return errors.New("multipart: boundary line too long")
	}
	mr.fill()
	return nil
}

// cutOff is the error for a body that ended (or failed) where more was
// needed.
func (mr *Reader) cutOff() error {
	if mr.srcErr == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return mr.srcErr
}

// readHeader reads the header block that starts at r and returns its part.
func (mr *Reader) readHeader() (*Part, error) {
	from := 0
	for {
		window := mr.buf[mr.r:mr.w]
		n, next := headerEnd(window, from)
		if n >= 0 {
			if n > MaxHeaderBytes {
				return nil, ErrHeaderTooLarge
			}
			hdr := window[:n]
			mr.r += n
			tr := textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(hdr), len(hdr)+16))
			h, err := tr.ReadMIMEHeader()
			if err != nil {
				return nil, err
			}
			p := &Part{Header: h, mr: mr}
			const cte = "Content-Transfer-Encoding"
			if strings.EqualFold(h.Get(cte), "quoted-printable") {
				h.Del(cte)
				p.qp = quotedprintable.NewReader(rawPart{p})
			}
			return p, nil
		}
		if len(window) > MaxHeaderBytes {
			return nil, ErrHeaderTooLarge
		}
		if mr.srcErr != nil {
			return nil, mr.cutOff()
		}
		from = next
		mr.fill()
	}
}

// headerEnd returns the length of the header block at the start of b,
// through the empty line that ends it, looking from from, the start of a
// line. When b does not hold it all, it returns -1 and where to look from
// once b has grown.
func headerEnd(b []byte, from int) (n, next int) {
	for i := from; ; {
		if i < len(b) && b[i] == '\n' {
			return i + 1, 0
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2, 0
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, i
		}
		i += j + 1
	}
}

// Kinds of line classify tells apart.
const (
	lineOther  = iota // not a boundary line
	lineMore          // more input is needed to tell
	lineNext          // a delimiter line: a part follows
	lineNextLF        // a delimiter line ending in a bare "\n"
	lineFinal         // the close delimiter line
)

// classify tells what the line at the start of b is, and the length of a
// boundary line (with its line end). eof says that b is all that is left.
func (mr *Reader) classify(b []byte, eof bool) (kind, n int) {
	if len(b) < len(mr.dash) {
		if !eof && bytes.HasPrefix(mr.dash, b) {
			return lineMore, 0
		}
		return lineOther, 0
	}
	if !bytes.HasPrefix(b, mr.dash) {
		return lineOther, 0
	}
	i := len(mr.dash)
	final := false
	switch {
	case len(b) >= i+2 && b[i] == '-' && b[i+1] == '-':
		final = true
		i += 2
	case len(b) == i+1 && b[i] == '-', len(b) == i:
		if eof {
			return lineOther, 0
		}
		return lineMore, 0
	}
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
		if i > len(mr.dash)+2+maxPadding {
			return lineOther, 0
		}
	}
	rest := b[i:]
	switch {
	case bytes.HasPrefix(rest, mr.nl):
		if final {
			return lineFinal, i + len(mr.nl)
		}
		return lineNext, i + len(mr.nl)
	case len(rest) == 0 && eof:
		if final {
			return lineFinal, i
		}
		return lineOther, 0
	case !eof && (len(rest) == 0 || len(mr.nl) == 2 && len(rest) == 1 && rest[0] == '\r'):
		return lineMore, 0
	case !final && mr.parts == 0 && len(mr.nl) == 2 && rest[0] == '\n':
		return lineNextLF, i + 1
	}
	return lineOther, 0
}

// fill compacts the buffer and reads more of the body into it, recording
// the error the body returns.
func (mr *Reader) fill() {
	if mr.srcErr != nil {
		return
	}
	if mr.r > 0 {
		mr.w = copy(mr.buf, mr.buf[mr.r:mr.w])
		mr.r = 0
	}
	if mr.w == len(mr.buf) {
		return
	}
	for range maxEmptyReads {
		n, err := mr.src.Read(mr.buf[mr.w:])
		mr.w += n
		if err != nil {
			mr.srcErr = err
			return
		}
		if n > 0 {
			return
		}
	}
	mr.srcErr = io.ErrNoProgress
}

// scan sets known and end for the data of a part that starts at r, of
// which total bytes were read before.
func (mr *Reader) scan(total int64) {
	window := mr.buf[mr.r:mr.w]
	eof := mr.srcErr != nil
	if total == 0 && bytes.HasPrefix(window, mr.dash) {
		// A part may be empty with its delimiter right after the header,
		// without a line end of its own.
		switch afterDelimiter(window, len(mr.dash), eof) {
		case +1:
			mr.end = true
			return
		case 0:
			return
		}
		mr.known = len(mr.dash)
		return
	}
	if total == 0 && len(window) < len(mr.dash) && bytes.HasPrefix(mr.dash, window) && !eof {
		return
	}
	off := 0
	for {
		i := bytes.Index(window[off:], mr.nlDash)
		if i < 0 {
			break
		}
		i += off
		switch afterDelimiter(window[i:], len(mr.nlDash), eof) {
		case +1:
			mr.known, mr.end = i, true
			return
		case 0:
			mr.known = i
			return
		}
		// Not a delimiter: the boundary followed by other bytes is data.
		off = i + len(mr.nlDash)
	}
	if eof {
		mr.known = len(window)
		return
	}
	// The last len(nlDash)-1 bytes may begin a delimiter.
	mr.known = max(len(window)-(len(mr.nlDash)-1), off, 0)
}

// afterDelimiter tells whether b, which starts with a delimiter candidate
// of n bytes, holds a delimiter: +1 when it is followed by "--", a space,
// a tab, a line end or the end of the body, -1 when by something else, 0
// when more input is needed to tell.
func afterDelimiter(b []byte, n int, eof bool) int {
	if len(b) == n {
		if eof {
			return +1
		}
		return 0
	}
	switch b[n] {
	case ' ', '\t', '\r', '\n':
		return +1
	case '-':
		if len(b) == n+1 {
			if eof {
				return -1
			}
			return 0
		}
		if b[n+1] == '-' {
			return +1
		}
	}
	return -1
}

// advance makes some data of the current part known, or finds its end,
// reading the body as needed.
func (mr *Reader) advance(total int64) error {
	for mr.known == 0 && !mr.end {
		mr.scan(total)
		if mr.known > 0 || mr.end {
			return nil
		}
		if mr.srcErr != nil {
			return mr.cutOff()
		}
		mr.fill()
	}
	return nil
}

// Read reads the part's data. It returns io.EOF at the part's end, and
// io.ErrUnexpectedEOF when the body ends before it.
func (p *Part) Read(b []byte) (int, error) {
	if p.qp != nil {
		return p.qp.Read(b)
	}
	return p.readRaw(b)
}

// rawPart reads a part's data before decoding.
type rawPart struct{ p *Part }

func (r rawPart) Read(b []byte) (int, error) { return r.p.readRaw(b) }

func (p *Part) readRaw(b []byte) (int, error) {
	mr := p.mr
	if p.done || mr.part != p {
		if p.err == nil {
			return 0, io.EOF
		}
		return 0, p.err
	}
	if len(b) == 0 {
		return 0, nil
	}
	if err := mr.advance(p.total); err != nil {
		p.done, p.err = true, err
		return 0, err
	}
	n := copy(b, mr.buf[mr.r:mr.r+mr.known])
	mr.r += n
	mr.known -= n
	p.total += int64(n)
	if mr.known == 0 && mr.end {
		mr.end = false
		p.done, p.err = true, io.EOF
		if n == 0 {
			return 0, io.EOF
		}
	}
	return n, nil
}

func (p *Part) parseDisposition() {
	if p.parsed {
		return
	}
	p.parsed = true
	d, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		params = nil
	}
	p.disp, p.params = d, params
}

// FormName returns the name parameter of the part's Content-Disposition
// when it is "form-data", else "".
func (p *Part) FormName() string {
	p.parseDisposition()
	if p.disp != "form-data" {
		return ""
	}
	return p.params["name"]
}

// FileName returns the last element (filepath.Base) of the filename
// parameter of the part's Content-Disposition, or "" without one.
func (p *Part) FileName() string {
	p.parseDisposition()
	name := p.params["filename"]
	if name == "" {
		return ""
	}
	return filepath.Base(name)
}

// Unread returns the body from the next boundary on, for another reader
// to go on with (after the current part's rest, which is skipped). The
// Reader is done: NextPart fails afterwards.
func (mr *Reader) Unread() (io.Reader, error) {
	if mr.unreadOK {
		return nil, errors.New("multipart: Unread called twice")
	}
	if mr.err != nil && mr.err != io.EOF {
		return nil, mr.err
	}
	if p := mr.part; p != nil && mr.err == nil {
		if err := mr.skipPart(p); err != nil {
			return nil, err
		}
		mr.part = nil
	}
	mr.unreadOK = true
	rest := bytes.Clone(mr.buf[mr.r:mr.w])
	mr.r = mr.w
	if mr.err == io.EOF {
		// Past the close delimiter: a body that is only that delimiter.
		return strings.NewReader(string(mr.dash) + "--"), nil
	}
	if mr.srcErr != nil {
		return io.MultiReader(bytes.NewReader(rest), errReader{mr.srcErr}), nil
	}
	return io.MultiReader(bytes.NewReader(rest), mr.src), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
