package devserver

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// rules decide which paths the dev loop watches and which changes rebuild
// the app. Paths are relative to the app's root, slash-separated.
type rules struct {
	// skipDirs are top-level directories never watched: the app's data
	// and scratch directories.
	skipDirs map[string]bool
}

func newRules(extraSkip []string) rules {
	r := rules{skipDirs: map[string]bool{"data": true, "tmp": true}}
	for _, d := range extraSkip {
		if d = filepath.ToSlash(filepath.Clean(d)); d != "." && d != "" && !strings.HasPrefix(d, "../") && !filepath.IsAbs(d) {
			r.skipDirs[d] = true
		}
	}
	return r
}

// skipDir reports whether the directory rel and everything under it is
// ignored: data/ and tmp/ (and the configured data directory), version
// control and editor directories (any hidden directory), node_modules
// and testdata.
func (r rules) skipDir(rel string) bool {
	if rel == "." {
		return false
	}
	if r.skipDirs[rel] {
		return true
	}
	base := filepath.Base(rel)
	return strings.HasPrefix(base, ".") || base == "node_modules" || base == "testdata"
}

// relevant reports whether a change to the file rel rebuilds the app: Go
// (not tests), templ, SQL and config sources, go.mod and go.sum, and any
// file under static/. Editor temporary and backup files never are.
func (r rules) relevant(rel string) bool {
	dir := filepath.Dir(rel)
	for d := dir; d != "." && d != "/"; d = filepath.Dir(d) {
		if r.skipDir(d) {
			return false
		}
	}
	base := filepath.Base(rel)
	if editorTemp(base) {
		return false
	}
	if strings.HasPrefix(rel, "static/") {
		return true
	}
	switch filepath.Ext(base) {
	case ".go":
		return !strings.HasSuffix(base, "_test.go")
	case ".templ", ".sql", ".toml":
		return true
	}
	return base == "go.mod" || base == "go.sum"
}

// editorTemp reports whether base names an editor's swap, backup or
// atomic-save file rather than a source file.
func editorTemp(base string) bool {
	switch {
	case strings.HasPrefix(base, ".#"), // Emacs lock
		strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"), // Emacs autosave
		strings.HasSuffix(base, "~"),                                 // backups
		strings.HasPrefix(base, ".") && (strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, ".swo") || strings.HasSuffix(base, ".swx")), // Vim
		base == "4913", // Vim's write test
		strings.HasSuffix(base, ".tmp"),
		strings.HasSuffix(base, ".crswap"),        // Chrome-based editors
		strings.HasSuffix(base, ".kate-swp"),      // Kate
		strings.Contains(base, "___jb_"),          // JetBrains safe write
		strings.HasSuffix(base, ".orig"),          // merge leftovers
		strings.HasPrefix(base, ".goutputstream"): // GNOME
		return true
	}
	return false
}

// watcher watches the app's tree recursively and sends the relative path
// of every relevant changed file. Directories created later are watched
// too, and the relevant files already in them count as changed.
type watcher struct {
	root  string
	rules rules
	fs    *fsnotify.Watcher
	out   chan string
}

func newWatcher(root string, r rules) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("devserver: watching files: %w", err)
	}
	w := &watcher{root: root, rules: r, fs: fw, out: make(chan string, 256)}
	if err := w.addTree(root, false); err != nil {
		_ = fw.Close()
		return nil, err
	}
	return w, nil
}

// addTree watches dir and its subdirectories; with report, it also sends
// the relevant files found (for directories that appeared after start).
func (w *watcher) addTree(dir string, report bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && os.IsNotExist(err) {
				return nil // removed while walking
			}
			return fmt.Errorf("devserver: walking %s: %w", p, err)
		}
		rel := w.rel(p)
		if d.IsDir() {
			if w.rules.skipDir(rel) {
				return filepath.SkipDir
			}
			if err := w.fs.Add(p); err != nil {
				return fmt.Errorf("devserver: watching %s: %w", p, err)
			}
			return nil
		}
		if report && w.rules.relevant(rel) {
			w.out <- rel
		}
		return nil
	})
}

func (w *watcher) rel(p string) string {
	rel, err := filepath.Rel(w.root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// run forwards changes until ctx is done; watch errors go to errs.
// The output channel closes when run returns.
func (w *watcher) run(ctx context.Context, errs func(error)) {
	defer close(w.out)
	defer w.fs.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			errs(fmt.Errorf("devserver: watching files: %w", err))
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) {
				continue
			}
			rel := w.rel(ev.Name)
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					if !w.rules.skipDir(rel) {
						if err := w.addTree(ev.Name, true); err != nil {
							errs(err)
						}
					}
					continue
				}
			}
			if w.rules.relevant(rel) {
				select {
				case w.out <- rel:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// debounce groups paths arriving on in into batches: a batch is sent once
// no path has arrived for quiet. Each path appears once per batch, in
// order of first arrival. The output closes when in closes; a batch
// not yet received then is dropped.
func debounce(in <-chan string, quiet time.Duration) <-chan []string {
	out := make(chan []string)
	go func() {
		defer close(out)
		var (
			batch []string
			seen  = map[string]bool{}
			timer = time.NewTimer(quiet)
			fire  <-chan time.Time
			send  chan<- []string
		)
		timer.Stop()
		for {
			select {
			case p, ok := <-in:
				if !ok {
					return
				}
				if !seen[p] {
					seen[p] = true
					batch = append(batch, p)
				}
				timer.Reset(quiet)
				fire, send = timer.C, nil
			case <-fire:
				fire, send = nil, out
			case send <- batch:
				batch, seen, send = nil, map[string]bool{}, nil
			}
		}
	}()
	return out
}
