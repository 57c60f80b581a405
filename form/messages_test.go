package form

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/render"
)

type rules struct {
	Short    string   `form:"short" validate:"min=3"`
	One      string   `form:"one" validate:"min=1"`
	Long     string   `form:"long" validate:"max=2"`
	Count    int      `form:"count" validate:"gte=2"`
	Cap      int      `form:"cap" validate:"lte=5"`
	Price    float64  `form:"price" validate:"gt=0"`
	Floor    int      `form:"floor" validate:"lt=3"`
	Pin      string   `form:"pin" validate:"len=4"`
	Dozen    int      `form:"dozen" validate:"len=12"`
	Site     string   `form:"site" validate:"url"`
	Home     string   `form:"home" validate:"http_url"`
	Handle   string   `form:"handle" validate:"alphanum"`
	Digits   string   `form:"digits" validate:"numeric"`
	Day      string   `form:"day" validate:"datetime=2006-01-02"`
	Picks    []string `form:"picks" validate:"gte=2"`
	Must     []string `form:"must" validate:"required"`
	Agree    bool     `form:"agree" validate:"required"`
	Password string   `form:"password"`
	Again    string   `form:"again" validate:"eqfield=Password"`
	Other    string   `form:"other" validate:"uuid"`
}

// Every built-in rule has its own plain-English message, by kind.
func TestDefaultMessages(t *testing.T) {
	var r rules
	f, err := New(render.New(render.Options{})).Decode(post(url.Values{
		"short": {"ab"}, "one": {""}, "long": {"abc"}, "count": {"1"}, "cap": {"6"}, "price": {"0"}, "floor": {"3"},
		"pin": {"123"}, "dozen": {"11"}, "site": {"nope"}, "home": {"ftp://x"}, "handle": {"a-b"}, "digits": {"1a"},
		"day": {"2024-13-01"}, "picks": {"x"}, "password": {"secret one"}, "again": {"secret two"}, "other": {"x"},
	}), &r)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"short":  "Short must be at least 3 characters.",
		"one":    "One must be at least 1 character.",
		"long":   "Long must be at most 2 characters.",
		"count":  "Count must be at least 2.",
		"cap":    "Cap must be at most 5.",
		"price":  "Price must be greater than 0.",
		"floor":  "Floor must be less than 3.",
		"pin":    "Pin must be exactly 4 characters.",
		"dozen":  "Dozen must be 12.",
		"site":   "Site must be a full web address, like https://example.com.",
		"home":   "Home must be a full web address, like https://example.com.",
		"handle": "Handle may contain only letters and digits.",
		"digits": "Digits must be a number.",
		"day":    "Day must be a date in the form 2006-01-02.",
		"picks":  "Choose at least 2 for picks.",
		"must":   "Choose at least one must.",
		"agree":  "Agree must be checked.",
		"again":  "Again must match Password.",
		"other":  "Other is not valid.",
	}
	for name, msg := range want {
		if got := f.Error(name); got != msg {
			t.Errorf("%s: %q, want %q", name, got, msg)
		}
	}
	if len(f.Errors) != len(want) {
		t.Errorf("%d errors, want %d: %+v", len(f.Errors), len(want), f.Errors)
	}
	var one struct {
		S string `form:"s" validate:"min=2"`
		N string `form:"n" validate:"max=1"`
	}
	f, _ = New(render.New(render.Options{})).Decode(post(url.Values{"s": {"a"}, "n": {"ab"}}), &one)
	if f.Error("n") != "N must be at most 1 character." || f.Error("s") != "S must be at least 2 characters." {
		t.Errorf("singular unit: %+v", f.Errors)
	}
}

type inner struct {
	City string `form:"city"`
}

type trimmed struct {
	Name     string `form:"name"`
	Password string `form:"password"`
	Token    string `form:"token" secret:"true"`
	Home     inner  `form:"home"`
	Work     *inner `form:"work"`
}

// Strings are trimmed, in nested structs and through pointers too; secrets
// are kept exactly as typed.
func TestDecodeTrimsStrings(t *testing.T) {
	var v trimmed
	_, err := New(render.New(render.Options{})).Decode(post(url.Values{
		"name": {"  Ann \t"}, "password": {" pass word "}, "token": {" t "}, "home.city": {" Oslo "}, "work.city": {"\nBergen "},
	}), &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "Ann" || v.Home.City != "Oslo" || v.Work == nil || v.Work.City != "Bergen" {
		t.Errorf("not trimmed: %+v %+v", v, v.Work)
	}
	if v.Password != " pass word " || v.Token != " t " {
		t.Errorf("secrets changed: %q %q", v.Password, v.Token)
	}
}

// Bind answers 422 with the view for invalid input and lets valid input
// through without writing.
func TestBind(t *testing.T) {
	fs := New(render.New(render.Options{}))
	view := func(f *Form) render.View {
		return render.View{Content: templ.Raw("<form>" + f.Error("name") + "</form>")}
	}
	var s struct {
		Name string `form:"name" validate:"required"`
	}
	rec := httptest.NewRecorder()
	if _, ok := fs.Bind(rec, post(url.Values{}), &s, view); ok || rec.Code != http.StatusUnprocessableEntity || rec.Body.String() != "<form>Name is required.</form>" {
		t.Errorf("invalid: %v %d %q", ok, rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	if f, ok := fs.Bind(rec, post(url.Values{"name": {"Ann"}}), &s, view); !ok || !f.Valid() || rec.Body.Len() != 0 || s.Name != "Ann" {
		t.Errorf("valid: %v %q", ok, rec.Body.String())
	}
}
