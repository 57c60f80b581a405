package form

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/render"
)

type address struct {
	City string `form:"city" validate:"required" label:"City"`
	Zip  string `form:"zip" validate:"omitempty,len=5"`
}

type signup struct {
	Name       string    `form:"name" validate:"required,min=2,max=10" label:"Your name"`
	Email      string    `form:"email" validate:"required,email"`
	Age        int       `form:"age" validate:"omitempty,gte=18,lte=130"`
	Score      *int      `form:"score"`
	Agree      bool      `form:"agree" validate:"required" message:"You must accept the terms."`
	Newsletter bool      `form:"newsletter"`
	Tags       []string  `form:"tags" validate:"max=3"`
	Color      string    `form:"color" validate:"omitempty,oneof=red green blue"`
	Born       time.Time `form:"born"`
	Password   string    `form:"password" validate:"required,min=8"`
	Token      string    `form:"token" secret:"true"`
	Home       address   `form:"home"`
	Ignored    string    `form:"-"`
}

func post(values url.Values) *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader(values.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func decode(t *testing.T, values url.Values) (*Form, *signup) {
	t.Helper()
	var s signup
	f, err := New(render.New(render.Options{})).Decode(post(values), &s)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return f, &s
}

func TestDecodeValid(t *testing.T) {
	f, s := decode(t, url.Values{
		"name": {"Zoë 🌱"}, "email": {"z@example.com"}, "age": {"30"}, "agree": {"on"}, "newsletter": {"true"},
		"tags": {"a", "b"}, "color": {"green"}, "password": {"longsecret"}, "token": {"t0k"},
		"home.city": {"Paris"}, "home.zip": {"75001"}, "score": {"7"}, "born": {"2000-01-02T00:00:00Z"},
	})
	if !f.Valid() {
		t.Fatalf("errors: %+v", f.Errors)
	}
	if s.Name != "Zoë 🌱" || s.Age != 30 || !s.Agree || !s.Newsletter || len(s.Tags) != 2 || s.Home.City != "Paris" ||
		s.Score == nil || *s.Score != 7 || s.Born.Year() != 2000 {
		t.Errorf("decoded %+v", s)
	}
	if f.Value("password") != "" || f.Value("token") != "" {
		t.Error("secret values kept for re-rendering")
	}
	if f.Value("name") != "Zoë 🌱" || !f.Has("tags", "b") {
		t.Error("values not kept")
	}
}

func TestDecodeErrorsAreOrderedAndReadable(t *testing.T) {
	f, s := decode(t, url.Values{
		"name": {"Z"}, "email": {"nope"}, "age": {"abc"}, "tags": {"1", "2", "3", "4"}, "color": {"purple"},
		"password": {"short"}, "home.zip": {"123"},
	})
	want := []FieldError{
		{"name", "Your name must be at least 2 characters."},
		{"email", "Enter a valid email address, like name@example.com."},
		{"age", "Age must be a whole number."},
		{"agree", "You must accept the terms."},
		{"tags", "Choose at most 3 for tags."},
		{"color", "Color must be one of: red, green, blue."},
		{"password", "Password must be at least 8 characters."},
		{"home.city", "City is required."},
		{"home.zip", "Zip must be exactly 5 characters."},
	}
	if len(f.Errors) != len(want) {
		t.Fatalf("errors %+v", f.Errors)
	}
	for i, w := range want {
		if f.Errors[i] != w {
			t.Errorf("error %d = %+v, want %+v", i, f.Errors[i], w)
		}
	}
	if s.Age != 0 {
		t.Error("bad number left a value")
	}
}

func TestEmptyVersusMissing(t *testing.T) {
	f, s := decode(t, url.Values{"name": {""}, "age": {""}, "score": {""}, "agree": {"off"}})
	if s.Age != 0 || s.Score != nil || s.Agree {
		t.Errorf("empty values: %+v", s)
	}
	if f.Error("name") != "Your name is required." || f.Error("age") != "" {
		t.Errorf("errors: %+v", f.Errors)
	}
	// Unicode length is counted in characters.
	f, _ = decode(t, url.Values{"name": {"ééééééééééé"}})
	if f.Error("name") != "Your name must be at most 10 characters." {
		t.Errorf("11 é: %q", f.Error("name"))
	}
	f, _ = decode(t, url.Values{"name": {"éééééééééé"}})
	if f.Error("name") != "" {
		t.Errorf("10 é: %q", f.Error("name"))
	}
}

func TestMultipartAndGet(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", "Multi")
	_ = mw.WriteField("agree", "1")
	fw, _ := mw.CreateFormFile("upload", "a.txt")
	_, _ = fw.Write([]byte("file body"))
	_ = mw.Close()
	r := httptest.NewRequest("POST", "/", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	var s signup
	f, err := New(render.New(render.Options{})).Decode(r, &s)
	if err != nil || s.Name != "Multi" || !s.Agree || f.Value("name") != "Multi" {
		t.Fatalf("multipart: %+v %v", s, err)
	}
	g := httptest.NewRequest("GET", "/?name=Query&agree=yes", nil)
	var q signup
	if _, err := New(render.New(render.Options{})).Decode(g, &q); err != nil || q.Name != "Query" || !q.Agree {
		t.Fatalf("query: %+v %v", q, err)
	}
}

func TestMalformedBodies(t *testing.T) {
	fs := New(render.New(render.Options{}))
	r := httptest.NewRequest("POST", "/", strings.NewReader("name=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var s signup
	if _, err := fs.Decode(r, &s); err == nil {
		t.Error("bad percent-encoding accepted")
	}
	rec := httptest.NewRecorder()
	r = httptest.NewRequest("POST", "/", strings.NewReader("name=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, ok := fs.Bind(rec, r, &s, nil); ok || rec.Code != http.StatusBadRequest {
		t.Errorf("Bind on a malformed body: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	r = httptest.NewRequest("POST", "/", strings.NewReader("name="+strings.Repeat("x", 100)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Body = http.MaxBytesReader(rec, r.Body, 20)
	if _, ok := fs.Bind(rec, r, &s, nil); ok || rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("Bind on an oversized body: %d", rec.Code)
	}
}

func TestCustomMessagesAndRules(t *testing.T) {
	fs := New(render.New(render.Options{}))
	fs.SetMessage("required", func(label, _ string, _ reflectKind) string { return "Fill in " + label + "!" })
	type in struct {
		Code string `form:"code" validate:"required,even"`
	}
	if err := fs.Validator().RegisterValidation("even", func(fl validatorFieldLevel) bool { return len(fl.Field().String())%2 == 0 }); err != nil {
		t.Fatal(err)
	}
	fs.SetMessage("even", func(label, _ string, _ reflectKind) string { return label + " needs an even length." })
	var a in
	f, _ := fs.Decode(post(url.Values{}), &a)
	if f.Error("code") != "Fill in Code!" {
		t.Errorf("custom required: %q", f.Error("code"))
	}
	f, _ = fs.Decode(post(url.Values{"code": {"abc"}}), &a)
	if f.Error("code") != "Code needs an even length." {
		t.Errorf("custom rule: %q", f.Error("code"))
	}
}

func TestComponentsTieErrorsToInputs(t *testing.T) {
	f := NewForm(url.Values{"title": {`"><script>x</script>`}, "password": {"secret"}, "tags": {"b"}, "done": {"on"}})
	f.AddError("title", "Title is required.")
	var buf bytes.Buffer
	ctx := context.Background()
	_ = Input(f, Field{Name: "title", Label: "Title", Help: "Short"}).Render(ctx, &buf)
	_ = Input(f, Field{Name: "password", Label: "Password", Type: "password"}).Render(ctx, &buf)
	_ = Select(f, Field{Name: "tags", Label: "Tags", Options: []Option{{"a", "A"}, {"b", "B"}}}).Render(ctx, &buf)
	_ = Checkbox(f, Field{Name: "done", Label: "Done"}).Render(ctx, &buf)
	html := buf.String()
	for _, want := range []string{
		`aria-invalid="true"`, `aria-describedby="field-title-error field-title-help"`, `id="field-title-error"`,
		`&#34;&gt;&lt;script&gt;`, `<option value="b" selected>`, `checked`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("output lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "secret") || strings.Contains(html, "<script>") {
		t.Errorf("password echoed or markup unescaped: %s", html)
	}
}

// TestMalformedKeysAreMalformedInput sends keys the decoder panics on;
// Decode reports them as ErrMalformed (400), never a panic.
func TestMalformedKeysAreMalformedInput(t *testing.T) {
	type in struct {
		Tags []string          `form:"tags"`
		Meta map[string]string `form:"meta"`
	}
	fs := New(nil)
	for _, body := range []string{"tags[=x", "meta[=x", "meta[a=x", "[ags=x"} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var dst in
		if _, err := fs.Decode(r, &dst); err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed or no error", body, err)
		}
	}
}

// TestDecodeFloats: floats parse as numbers; NaN and the infinities, which
// strconv accepts, are field errors like any other non-number.
func TestDecodeFloats(t *testing.T) {
	type reading struct {
		Value float64  `form:"value" label:"Value"`
		Small float32  `form:"small" label:"Small"`
		Maybe *float64 `form:"maybe" label:"Maybe"`
	}
	fs := New(render.New(render.Options{}))
	for in, ok := range map[string]bool{"1.5": true, "-2e3": true, "": true, "NaN": false, "nan": false, "Inf": false, "-Infinity": false, "1e400": false, "x": false} {
		var r reading
		f, err := fs.Decode(post(url.Values{"value": {in}, "small": {in}, "maybe": {in}}), &r)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := f.Error("value") == "" && f.Error("small") == "" && f.Error("maybe") == ""; got != ok {
			t.Errorf("%q: valid %v, want %v (errors %+v)", in, got, ok, f.Errors)
		}
	}
	var r reading
	if f, _ := fs.Decode(post(url.Values{"value": {"2.25"}, "small": {"0.5"}, "maybe": {"3"}}), &r); !f.Valid() || r.Value != 2.25 || r.Small != 0.5 || r.Maybe == nil || *r.Maybe != 3 {
		t.Errorf("decoded %+v", r)
	}
}
