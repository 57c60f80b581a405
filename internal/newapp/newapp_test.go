package newapp

import (
	"context"
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/trellis-go/trellis/config"
)

func TestIsRelease(t *testing.T) {
	for v, want := range map[string]bool{
		"v0.4.0":                               true,
		"v1.2.3-rc.1":                          true,
		"":                                     false,
		"(devel)":                              false,
		"v0.4.0+dirty":                         false,
		"v0.0.0-20261128033600-53033f8abcde":   false,
		"v0.4.1-0.20261128033600-53033f8abcde": false,
		"v0.4.1-0.20261128033600-53033f8abcde+dirty": false,
		"0.4.0": false,
	} {
		if got := IsRelease(v); got != want {
			t.Errorf("IsRelease(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestChooseSource(t *testing.T) {
	tests := []struct {
		version, override, found string
		want                     Source
		err                      error
	}{
		{"v0.4.0", "", "/src/trellis", Source{Version: "v0.4.0"}, nil},
		{"v0.4.0", "/my/trellis", "", Source{Version: DevelVersion, Dir: "/my/trellis"}, nil},
		{"(devel)", "", "/src/trellis", Source{Version: DevelVersion, Dir: "/src/trellis"}, nil},
		{"", "", "/src/trellis", Source{Version: DevelVersion, Dir: "/src/trellis"}, nil},
		{"v0.0.0-20261128033600-53033f8abcde+dirty", "", "/src/trellis", Source{Version: DevelVersion, Dir: "/src/trellis"}, nil},
		{"v0.4.1-0.20261128033600-53033f8abcde", "/o", "/src/trellis", Source{Version: DevelVersion, Dir: "/o"}, nil},
		{"(devel)", "", "", Source{}, ErrNoCheckout},
		{"v0.4.0+dirty", "", "", Source{}, ErrNoCheckout},
	}
	for _, tt := range tests {
		got, err := ChooseSource(tt.version, tt.override, tt.found)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ChooseSource(%q, %q, %q) = %+v, %v; want %+v, %v", tt.version, tt.override, tt.found, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), "TRELLIS_SOURCE_DIR") {
			t.Errorf("the error does not say how to fix it: %v", err)
		}
	}
}

// TestThisBuild: a test binary is a development build, so the app uses the
// checkout this package is in; an override must be a Trellis checkout.
func TestThisBuild(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src, err := ThisBuild("")
	if err != nil || src != (Source{Version: DevelVersion, Dir: root}) {
		t.Errorf("ThisBuild() = %+v, %v; want the checkout %s", src, err, root)
	}
	if src, err := ThisBuild("../.."); err != nil || src.Dir != root {
		t.Errorf("ThisBuild(../..) = %+v, %v; want the checkout %s", src, err, root)
	}
	if _, err := ThisBuild(t.TempDir()); !errors.Is(err, ErrUsage) {
		t.Errorf("ThisBuild(an empty directory) = %v, want a usage error", err)
	}
}

func TestGoMod(t *testing.T) {
	release := GoMod("example.com/shop", "1.26", Source{Version: "v0.4.0"})
	devel := GoMod("shop", "1.26", Source{Version: DevelVersion, Dir: "/home/me/my trellis"})
	for name, tt := range map[string]struct {
		mod     []byte
		module  string
		version string
		replace string
	}{
		"release": {release, "example.com/shop", "v0.4.0", ""},
		"devel":   {devel, "shop", DevelVersion, "/home/me/my trellis"},
	} {
		f, err := modfile.Parse("go.mod", tt.mod, nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, tt.mod)
		}
		if f.Module.Mod.Path != tt.module || f.Go.Version != "1.26" {
			t.Errorf("%s: module %s, go %s", name, f.Module.Mod.Path, f.Go.Version)
		}
		if len(f.Require) != 1 || f.Require[0].Mod.Path != TrellisModule || f.Require[0].Mod.Version != tt.version {
			t.Errorf("%s: requires %v, want %s %s", name, f.Require, TrellisModule, tt.version)
		}
		switch {
		case tt.replace == "" && len(f.Replace) != 0:
			t.Errorf("%s: a release must not replace Trellis: %v", name, f.Replace[0].New)
		case tt.replace != "" && (len(f.Replace) != 1 || f.Replace[0].Old.Path != TrellisModule || f.Replace[0].New.Path != tt.replace):
			t.Errorf("%s: replace = %v, want %s => %s", name, f.Replace, TrellisModule, tt.replace)
		}
		var tools []string
		for _, tl := range f.Tool {
			tools = append(tools, tl.Path)
		}
		if strings.Join(tools, " ") != "github.com/a-h/templ/cmd/templ "+TrellisModule+"/cmd/trellis" {
			t.Errorf("%s: tools %v", name, tools)
		}
	}
}

// TestCreateRefuses checks each bad input is a usage error that writes
// nothing.
func TestCreateRefuses(t *testing.T) {
	src := Source{Version: "v0.4.0"}
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := func() string { return filepath.Join(t.TempDir(), "app") }
	tests := []struct {
		name string
		o    Options
		msg  string
	}{
		{"non-empty dir", Options{Dir: nonEmpty}, "is not empty"},
		{"a file", Options{Dir: file}, "not a directory"},
		{"bad module", Options{Dir: fresh(), Module: "example.com/a b"}, "invalid module path"},
		{"bad dir name", Options{Dir: filepath.Join(t.TempDir(), "My App")}, "--module"},
		{"bad db", Options{Dir: fresh(), DB: "mysql"}, "--db sqlite or --db postgres"},
		{"no dir", Options{}, "directory is missing"},
		{"not a checkout", Options{Dir: fresh(), TrellisDir: t.TempDir()}, "go.mod for " + TrellisModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.TrellisDir == "" {
				tt.o.Source = src
			}
			err := Create(context.Background(), tt.o)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Create = %v, want a usage error saying %q", err, tt.msg)
			}
			if tt.o.Dir == "" {
				return
			}
			if tt.o.Dir == nonEmpty {
				if entries, _ := os.ReadDir(nonEmpty); len(entries) != 1 {
					t.Errorf("Create wrote into the non-empty directory: %v", entries)
				}
			} else if tt.o.Dir != file {
				if _, err := os.Stat(tt.o.Dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Create created %s: %v", tt.o.Dir, err)
				}
			}
		})
	}
}

// TestRender checks the files of the layout other commands rely on: paths,
// marker lines, formatted Go code, the generated templ code and a
// configuration that loads in every profile.
func TestRender(t *testing.T) {
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			_, d, err := Options{Dir: "/tmp/my-shop", Module: "example.com/shop", DB: db}.resolve()
			if err != nil {
				t.Fatal(err)
			}
			files, err := render(d, Source{Version: "v0.4.0"})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"go.mod", "main.go", "app.go", "routes.go", "home.go", "app_test.go", "views/layout.templ", "views/layout_templ.go",
				"views/home.templ", "views/home_templ.go", "views/nav.go", "migrations/sqlite/README.md", "migrations/postgres/README.md", "static/app.css",
				"config/trellis.toml", "config/trellis.production.toml", ".gitignore", "README.md"} {
				if files[p] == nil {
					t.Errorf("no %s", p)
				}
			}
			if !strings.Contains(string(files["routes.go"]), "\n\t// trellis:routes\n}") {
				t.Errorf("routes.go lacks the routes marker line:\n%s", files["routes.go"])
			}
			if !strings.Contains(string(files["views/nav.go"]), "\n\t// trellis:nav\n}") {
				t.Errorf("views/nav.go lacks the nav marker line:\n%s", files["views/nav.go"])
			}
			for p, b := range files {
				if strings.HasSuffix(p, ".go") {
					if f, err := format.Source(b); err != nil || string(f) != string(b) {
						t.Errorf("%s is not gofmt'd (%v)", p, err)
					}
				}
				if strings.Contains(string(b), "[[") && !strings.HasSuffix(p, ".toml") {
					t.Errorf("%s has a template action left:\n%s", p, b)
				}
			}
			if !strings.Contains(string(files["app.go"]), `"example.com/shop/views"`) || !strings.Contains(string(files[".gitignore"]), "\n/shop\n") {
				t.Errorf("the module path is not used:\n%s\n%s", files["app.go"], files[".gitignore"])
			}

			dir := t.TempDir()
			if err := write(dir, files); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, "config", "trellis.toml")
			for _, p := range []config.Profile{config.Development, config.Production} {
				cfg, err := config.Load(config.Options{Path: cfgPath, Profile: p, Env: []string{}})
				if err != nil {
					t.Fatalf("%s profile: %v", p, err)
				}
				if cfg.App.Name != "my-shop" || cfg.App.DataDir != "data" {
					t.Errorf("%s profile: app %+v", p, cfg.App)
				}
				wantAddr, wantURL := "127.0.0.1:3000", ""
				if p == config.Production {
					wantAddr = ":3000"
				}
				if db == "postgres" {
					wantURL = "postgres://localhost:5432/my_shop?sslmode=disable"
				}
				if cfg.Server.Addr != wantAddr || cfg.Database.URL != wantURL {
					t.Errorf("%s profile: addr %q, database %q; want %q, %q", p, cfg.Server.Addr, cfg.Database.URL, wantAddr, wantURL)
				}
			}
			cfg, err := config.Load(config.Options{Path: cfgPath, Env: []string{"TRELLIS_DATABASE_URL=postgres://db/x", "TRELLIS_SERVER_ADDR=127.0.0.1:4000"}})
			if err != nil || cfg.Database.URL != "postgres://db/x" || cfg.Server.Addr != "127.0.0.1:4000" {
				t.Errorf("the environment does not override the file: %v", err)
			}
		})
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"shop": "shop", "My-Shop 2": "my_shop_2", "2048": "app_2048", "--": "app"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
