// Command mutate is a small mutation tester for Trellis: it plants one
// realistic bug at a time in a package's source and runs that package's
// tests, which should fail. A mutant whose tests still pass is a survivor:
// either a missing test, or an equivalent change with no observable effect.
//
// The working tree is never modified: each mutated file is written to a
// temporary directory and handed to the go command with -overlay, so
// killing the run at any moment leaves the sources as they were.
//
// Operators:
//
//	negate     == ↔ !=, < ↔ >=, <= ↔ >, && ↔ ||, !x → x
//	drop-call  a statement that is only a call is removed
//	constant   true ↔ false, 0 ↔ 1, a string constant emptied
//	no-return  an if whose body ends in return never runs (cond → false && cond)
//
// Usage (from the module root; not part of CI, it runs each package's tests
// once per mutant):
//
//	go run ./scripts/mutate [-max 40] [-seed 1] [-j 2] [-timeout 0] [-run REGEXP] [-v] PACKAGE...
//	go run ./scripts/mutate -list ./csrf
//
// A mutant that does not compile (a dropped call leaving a variable
// unused, say) is counted as invalid and left out of the score. A mutant
// whose tests time out counts as killed, and is reported apart: on a
// loaded machine, check those by hand or raise -timeout. The exit status is 1 when any
// package scores below -min (default 0.9).
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// mutant is one planted change: bytes [start, end) of file become repl.
type mutant struct {
	file       string // absolute path
	line       int
	start, end int
	repl       string
	op         string
}

// outcome of running a package's tests against a mutant.
type outcome int

const (
	notRun outcome = iota // interrupted before its turn
	killed
	survived
	invalid
	timedOut
)

type result struct {
	m   mutant
	out outcome
}

func main() {
	maxN := flag.Int("max", 40, "mutants per package at most, sampled with -seed (0: all)")
	seed := flag.Uint64("seed", 1, "sampling seed")
	jobs := flag.Int("j", 2, "mutants tested in parallel")
	timeout := flag.Duration("timeout", 0, "per-mutant test timeout (0: 5× the unmutated run, at least 60s)")
	run := flag.String("run", "", "passed to go test -run")
	list := flag.Bool("list", false, "list the sampled mutants without running them")
	minScore := flag.Float64("min", 0.9, "exit 1 when a package kills fewer than this fraction")
	verbose := flag.Bool("v", false, "print each mutant's outcome as it finishes")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./scripts/mutate [flags] PACKAGE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "trellis-mutate-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)

	low := false
	for _, pattern := range flag.Args() {
		pkgs, err := listPackages(pattern)
		if err != nil {
			fatal(err)
		}
		for _, p := range pkgs {
			ms, err := generate(p)
			if err != nil {
				fatal(err)
			}
			total := len(ms)
			r := rand.New(rand.NewPCG(*seed, 0))
			r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
			if *maxN > 0 && len(ms) > *maxN {
				ms = ms[:*maxN]
			}
			slices.SortFunc(ms, func(a, b mutant) int {
				return cmp.Or(strings.Compare(a.file, b.file), a.start-b.start, strings.Compare(a.op, b.op))
			})
			fmt.Printf("== %s: %d mutants, %d sampled\n", p.ImportPath, total, len(ms))
			if *list {
				for _, m := range ms {
					fmt.Printf("  %s\n", describe(m))
				}
				continue
			}
			if !runPackage(ctx, tmp, p, ms, *jobs, *timeout, *run, *verbose, *minScore) {
				low = true
			}
			if ctx.Err() != nil {
				fmt.Println("interrupted")
				os.Exit(130)
			}
		}
	}
	if low {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

func listPackages(pattern string) ([]pkg, error) {
	out, err := exec.Command("go", "list", "-json", pattern).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pattern, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// generate lists every mutant of the package's non-generated Go files.
func generate(p pkg) ([]mutant, error) {
	var all []mutant
	for _, name := range p.GoFiles {
		path := filepath.Join(p.Dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ms, err := mutants(path, src)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	return all, nil
}

var swaps = map[token.Token]token.Token{
	token.EQL: token.NEQ, token.NEQ: token.EQL,
	token.LSS: token.GEQ, token.GEQ: token.LSS,
	token.GTR: token.LEQ, token.LEQ: token.GTR,
	token.LAND: token.LOR, token.LOR: token.LAND,
}

// mutants lists the mutants of one file; generated files have none.
func mutants(path string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(f) {
		return nil, nil
	}
	var ms []mutant
	add := func(pos, end token.Pos, repl, op string) {
		ms = append(ms, mutant{file: path, line: fset.Position(pos).Line, start: fset.Position(pos).Offset, end: fset.Position(end).Offset, repl: repl, op: op})
	}
	text := func(n ast.Node) string {
		return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
	}
	skip := map[ast.Node]bool{} // literals that cannot change: imports, tags
	for _, im := range f.Imports {
		skip[im.Path] = true
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			if n.Tag != nil {
				skip[n.Tag] = true
			}
		case *ast.BinaryExpr:
			if to, ok := swaps[n.Op]; ok {
				add(n.OpPos, n.OpPos+token.Pos(len(n.Op.String())), to.String(), "negate")
			}
		case *ast.UnaryExpr:
			if n.Op == token.NOT {
				add(n.OpPos, n.OpPos+1, "", "negate")
			}
		case *ast.CallExpr:
			if isLog(n) {
				ast.Inspect(n, func(c ast.Node) bool {
					if lit, ok := c.(*ast.BasicLit); ok {
						skip[lit] = true
					}
					return true
				})
			}
		case *ast.ExprStmt:
			if call, ok := n.X.(*ast.CallExpr); ok && !isLog(call) {
				add(n.Pos(), n.End(), "", "drop-call")
			}
		case *ast.Ident:
			if n.Obj == nil && (n.Name == "true" || n.Name == "false") {
				add(n.Pos(), n.End(), map[string]string{"true": "false", "false": "true"}[n.Name], "constant")
			}
		case *ast.BasicLit:
			if skip[n] {
				return true
			}
			switch {
			case n.Kind == token.INT && n.Value == "0":
				add(n.Pos(), n.End(), "1", "constant")
			case n.Kind == token.INT && n.Value == "1":
				add(n.Pos(), n.End(), "0", "constant")
			case n.Kind == token.STRING && len(n.Value) > 2:
				add(n.Pos(), n.End(), `""`, "constant")
			}
		case *ast.IfStmt:
			if k := len(n.Body.List); n.Else == nil && k > 0 {
				if _, ok := n.Body.List[k-1].(*ast.ReturnStmt); ok {
					add(n.Cond.Pos(), n.Cond.End(), "false && ("+text(n.Cond)+")", "no-return")
				}
			}
		}
		return true
	})
	return ms, nil
}

// logFuncs are the slog calls left alone: dropping a log line or emptying
// its message changes no behaviour the tests can see (as PIT's default
// avoidCallsTo list leaves logging frameworks alone).
var logFuncs = map[string]bool{
	"Debug": true, "Info": true, "Warn": true, "Error": true, "Log": true, "LogAttrs": true,
	"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true,
	"String": true, "Int": true, "Int64": true, "Any": true, "Bool": true, "Duration": true, "Time": true, "Group": true,
}

// isLog reports whether call is a slog function or a logger method
// (x.Info, x.logger.WarnContext, slog.String, …).
func isLog(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !logFuncs[sel.Sel.Name] {
		return false
	}
	switch x := sel.X.(type) {
	case *ast.Ident:
		return x.Name == "slog" || strings.Contains(strings.ToLower(x.Name), "log")
	case *ast.SelectorExpr:
		return strings.Contains(strings.ToLower(x.Sel.Name), "log")
	}
	return false
}

// apply returns src with m planted.
func apply(src []byte, m mutant) []byte {
	out := make([]byte, 0, len(src)+len(m.repl))
	out = append(out, src[:m.start]...)
	out = append(out, m.repl...)
	return append(out, src[m.end:]...)
}

// describe is file:line, operator and the line before and after.
func describe(m mutant) string {
	src, _ := os.ReadFile(m.file)
	lineOf := func(b []byte, off int) string {
		s := bytes.LastIndexByte(b[:off], '\n') + 1
		e := bytes.IndexByte(b[off:], '\n')
		if e < 0 {
			e = len(b) - off
		}
		return strings.TrimSpace(string(b[s : off+e]))
	}
	rel, err := filepath.Rel(mustWd(), m.file)
	if err != nil {
		rel = m.file
	}
	after := lineOf(apply(src, m), m.start)
	if after == "" {
		after = "(removed)"
	}
	return fmt.Sprintf("%s:%d %s: %s  →  %s", rel, m.line, m.op, lineOf(src, m.start), after)
}

func mustWd() string {
	wd, _ := os.Getwd()
	return wd
}

// runPackage tests every mutant and prints the score and the survivors; it
// reports whether the score reached minScore.
func runPackage(ctx context.Context, tmp string, p pkg, ms []mutant, jobs int, timeout time.Duration, run string, verbose bool, minScore float64) bool {
	began := time.Now()
	if out, err := goTest(ctx, p.ImportPath, "", 0, run); err != nil {
		fmt.Printf("   the unmutated tests fail; skipping %s\n%s\n", p.ImportPath, tail(out, 20))
		return false
	}
	if timeout == 0 {
		// Generous: on a loaded machine a slow run is not a kill.
		timeout = max(5*time.Since(began), 60*time.Second)
	}
	fmt.Printf("   unmutated tests pass in %s; per-mutant timeout %s\n", time.Since(began).Round(time.Millisecond), timeout.Round(time.Second))

	work := make(chan int)
	results := make([]result, len(ms))
	var wg sync.WaitGroup
	for w := range max(jobs, 1) {
		wg.Go(func() {
			for i := range work {
				results[i] = result{m: ms[i], out: testMutant(ctx, tmp, w, i, p, ms[i], timeout, run)}
				if verbose {
					fmt.Printf("   %-8s %s\n", [...]string{"not run", "killed", "SURVIVED", "invalid", "timeout"}[results[i].out], describe(ms[i]))
				}
			}
		})
	}
	for i := range ms {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()

	var k, s, inv, to, skipped int
	var survivors []mutant
	for _, r := range results {
		switch r.out {
		case notRun:
			skipped++
		case killed:
			k++
		case timedOut:
			to++
		case invalid:
			inv++
		case survived:
			s++
			survivors = append(survivors, r.m)
		}
	}
	valid := k + to + s
	score := 1.0
	if valid > 0 {
		score = float64(k+to) / float64(valid)
	}
	fmt.Printf("   %s: %d/%d killed (%.0f%%; %d by timeout), %d survived, %d invalid, in %s\n",
		p.ImportPath, k+to, valid, 100*score, to, s, inv, time.Since(began).Round(time.Second))
	if skipped > 0 {
		fmt.Printf("   %d mutants not run (interrupted)\n", skipped)
	}
	for _, m := range survivors {
		fmt.Printf("   SURVIVED %s\n", describe(m))
	}
	return score >= minScore
}

// testMutant runs the package's tests with m planted through an overlay.
func testMutant(ctx context.Context, tmp string, worker, i int, p pkg, m mutant, timeout time.Duration, run string) outcome {
	if ctx.Err() != nil {
		return notRun
	}
	src, err := os.ReadFile(m.file)
	if err != nil {
		fatal(err)
	}
	dir := filepath.Join(tmp, fmt.Sprintf("w%d-%d", worker, i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	mutated := filepath.Join(dir, filepath.Base(m.file))
	if err := os.WriteFile(mutated, apply(src, m), 0o644); err != nil {
		fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {m.file: mutated}})
	overlayPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		fatal(err)
	}
	out, err := goTest(ctx, p.ImportPath, overlayPath, timeout, run)
	switch {
	case err == nil:
		return survived
	case errors.Is(err, context.DeadlineExceeded):
		return timedOut
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return invalid
	case ctx.Err() != nil:
		return notRun
	}
	return killed
}

// goTest runs go test for one package; a timeout kills the whole process
// group and returns context.DeadlineExceeded.
func goTest(ctx context.Context, importPath, overlay string, timeout time.Duration, run string) ([]byte, error) {
	args := []string{"test", "-count=1"}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	if run != "" {
		args = append(args, "-run="+run)
	}
	if timeout > 0 {
		args = append(args, "-timeout="+(timeout+10*time.Second).String())
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.Command("go", append(args, importPath)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if ctx.Err() == context.DeadlineExceeded {
			return out.Bytes(), context.DeadlineExceeded
		}
		return out.Bytes(), ctx.Err()
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
