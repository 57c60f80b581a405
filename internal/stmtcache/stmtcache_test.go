package stmtcache

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// testDSN returns a DSN for a fresh database file in a temporary directory,
// with the pragmas the application uses.
func testDSN(t testing.TB, name string) string {
	path := filepath.Join(t.TempDir(), name)
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// openCached opens dsn through NewConnector and returns the database and
// its connector, whose stats the tests read.
func openCached(t testing.TB, dsn string, size int) (*sql.DB, *connector) {
	t.Helper()
	cn := NewConnector(dsn, size).(*connector)
	db := sql.OpenDB(cn)
	t.Cleanup(func() { db.Close() })
	return db, cn
}

func openPlain(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, e interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) sql.Result {
	t.Helper()
	res, err := e.ExecContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
	return res
}

// rawConn runs f with the wrapped driver connection behind sc.
func rawConn(t *testing.T, sc *sql.Conn, f func(c *conn)) {
	t.Helper()
	if err := sc.Raw(func(dc any) error {
		f(dc.(*conn))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// cachedQueries returns the cached query texts, most recently used first.
func cachedQueries(c *conn) []string {
	var qs []string
	for e := c.lru.next; e != &c.lru; e = e.next {
		qs = append(qs, e.query)
	}
	return qs
}

// dumpRows renders rows, their column names and column types as text.
func dumpRows(rows *sql.Rows) (string, error) {
	defer rows.Close()
	var b strings.Builder
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "cols=%v\n", cols)
	for _, ct := range types {
		n, hasN := ct.Nullable()
		l, hasL := ct.Length()
		p, s, hasPS := ct.DecimalSize()
		fmt.Fprintf(&b, "  %s db=%q scan=%v null=%v/%v len=%v/%v ps=%v,%v/%v\n",
			ct.Name(), ct.DatabaseTypeName(), ct.ScanType(), n, hasN, l, hasL, p, s, hasPS)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%T:%#v ", v, v)
		}
		b.WriteByte('\n')
	}
	return b.String(), rows.Err()
}

// step is one operation run on both the plain and the cached database.
type step struct {
	exec  bool
	query string
	args  []any
}

// runStep runs s on db and renders its outcome as text.
func runStep(db *sql.DB, s step) string {
	ctx := context.Background()
	if s.exec {
		res, err := db.ExecContext(ctx, s.query, s.args...)
		if err != nil {
			return "error: " + err.Error()
		}
		id, err1 := res.LastInsertId()
		n, err2 := res.RowsAffected()
		return fmt.Sprintf("id=%v,%v n=%v,%v", id, err1, n, err2)
	}
	rows, err := db.QueryContext(ctx, s.query, s.args...)
	if err != nil {
		return "error: " + err.Error()
	}
	out, err := dumpRows(rows)
	if err != nil {
		return out + "error: " + err.Error()
	}
	return out
}

// TestParity runs the same operations through the plain driver and through
// the cache, each twice so that the second run hits the cache, and expects
// identical outcomes.
func TestParity(t *testing.T) {
	for _, timeFormat := range []string{"", "&_time_format=sqlite"} {
		t.Run("time_format="+timeFormat, func(t *testing.T) {
			plain := openPlain(t, testDSN(t, "plain.db")+timeFormat)
			cached, cn := openCached(t, testDSN(t, "cached.db")+timeFormat, 0)
			plain.SetMaxOpenConns(1)
			cached.SetMaxOpenConns(1)

			utc := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
			zoned := time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("X", -7*3600-30*60))
			steps := []step{
				{exec: true, query: `CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, f REAL, s TEXT,
					b BLOB, ts DATETIME, n, u TEXT UNIQUE)`},
				{exec: true, query: "INSERT INTO t(i, f, s, b, ts, n, u) VALUES(?, ?, ?, ?, ?, ?, ?)",
					args: []any{42, 3.5, "héllo; 'world'", []byte{0, 1, 2, 255}, utc, nil, "a"}},
				{exec: true, query: "INSERT INTO t(i, f, s, b, ts, n, u) VALUES(?, ?, ?, ?, ?, ?, ?)",
					args: []any{nil, nil, nil, nil, nil, "x", nil}},
				{exec: true, query: "INSERT INTO t(i, f, s, b, ts, n, u) VALUES(?, ?, ?, ?, ?, ?, ?)",
					args: []any{int64(math.MinInt64), math.MaxFloat64, "", []byte{}, zoned, true, "b"}},
				{exec: true, query: "INSERT INTO t(i, f, s, b, ts, n, u) VALUES(?, ?, ?, ?, ?, ?, ?)",
					args: []any{sql.NullInt64{}, sql.NullFloat64{Float64: 1, Valid: true},
						sql.NullString{String: "ns", Valid: true}, []byte(nil), sql.NullTime{}, 7.25, "c"}},
				// A constraint violation, then the same statement succeeding.
				{exec: true, query: "INSERT INTO t(u) VALUES(?)", args: []any{"a"}},
				{exec: true, query: "INSERT INTO t(u) VALUES(?)", args: []any{"d"}},
				{query: "SELECT * FROM t ORDER BY id"},
				{query: "SELECT s, b FROM t WHERE id = ?", args: []any{1}},
				{query: "SELECT id FROM t WHERE i > ? ORDER BY id", args: []any{0}},
				{query: "SELECT id FROM t WHERE s = :s OR u = $u", args: []any{sql.Named("s", "ns"), sql.Named("u", "b")}},
				{query: "SELECT ?, ?, ?, ?, ?, ?", args: []any{nil, utc, []byte("blob"), 1.5, "text", false}},
				{query: "SELECT ts FROM t WHERE ts IS NOT NULL ORDER BY id"},
				{query: "SELECT count(*), sum(i), typeof(n) FROM t GROUP BY typeof(n) ORDER BY 3"},
				{query: "SELECT id FROM t WHERE id = ?", args: []any{12345}}, // no rows
				{query: "INSERT INTO t(i, u) VALUES(?, ?) RETURNING id, i, u", args: []any{9, "r"}},
				{query: "UPDATE t SET i = i + 1 WHERE id <= ? RETURNING id, i", args: []any{2}},
				{exec: true, query: "UPDATE t SET s = ? WHERE id = ?", args: []any{"upd", 2}},
				// Transaction control statements run through the cache too.
				{exec: true, query: "BEGIN"},
				{exec: true, query: "UPDATE t SET s = ? WHERE id = ?", args: []any{"rolled back", 2}},
				{exec: true, query: "ROLLBACK"},
				{exec: true, query: "BEGIN IMMEDIATE"},
				{exec: true, query: "UPDATE t SET f = ? WHERE id = ?", args: []any{-0.5, 2}},
				{exec: true, query: "COMMIT"},
				{exec: true, query: "COMMIT"}, // no transaction: an error
				{exec: true, query: "DELETE FROM t WHERE id = ?", args: []any{4}},
				{exec: true, query: "SELECT * FROM t"}, // a query run through Exec
				{query: "SELECT * FROM t ORDER BY id"},
				{query: "PRAGMA table_info(t)"},
				{query: "SELECT 1; SELECT 2"},           // multi-statement query
				{query: "SELECT ? + ?", args: []any{1}}, // missing argument
				{query: "SELEC 1"},
				{exec: true, query: "INSERT INTO nope VALUES(1)"},
				{query: "SELECT 1 -- trailing comment\n"},
				{query: "SELECT 1;  "},
				{query: "SELECT 1 /* c */ ; -- c"},
				{query: "SELECT 1  "},
				{query: "SELECT 1;\v"},
			}
			for round := range 2 {
				for _, s := range steps {
					if round == 1 && strings.HasPrefix(s.query, "CREATE") {
						continue
					}
					want, got := runStep(plain, s), runStep(cached, s)
					if got != want {
						t.Errorf("round %d %q %v:\nplain:  %s\ncached: %s", round, s.query, s.args, want, got)
					}
				}
			}
			if cn.stats.prepared.Load() == 0 {
				t.Error("nothing was cached")
			}
		})
	}
}

// TestCacheHits checks a repeated query is prepared once per connection.
func TestCacheHits(t *testing.T) {
	db, cn := openCached(t, testDSN(t, "hits.db"), 0)
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)")
	before := cn.stats.prepared.Load()
	for i := range 100 {
		mustExec(t, db, "INSERT INTO kv(k, v) VALUES(?, ?)", i, fmt.Sprint("v", i))
		var v string
		if err := db.QueryRow("SELECT v FROM kv WHERE k = ?", i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}
	if got := cn.stats.prepared.Load() - before; got != 2 {
		t.Errorf("prepared %d statements, want 2", got)
	}

	// Explicitly prepared statements belong to database/sql, not the cache.
	st, err := db.Prepare("SELECT v FROM kv WHERE k = ? + 0")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		var v string
		if err := st.QueryRow(i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("prepared statement row %d: %q, %v", i, v, err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cn.stats.prepared.Load() - before; got != 2 {
		t.Errorf("db.Prepare went through the cache: %d statements cached, want 2", got)
	}
}

// TestTransactions uses cached statements inside transactions that roll
// back and commit.
func TestTransactions(t *testing.T) {
	ctx := context.Background()
	db, cn := openCached(t, testDSN(t, "tx.db"), 0)
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)")
	const ins, sel = "INSERT INTO kv(k, v) VALUES(?, ?)", "SELECT v FROM kv WHERE k = ?"
	mustExec(t, db, ins, 0, "zero") // warm the cache
	var v string
	if err := db.QueryRow(sel, 0).Scan(&v); err != nil {
		t.Fatal(err)
	}
	prepared := cn.stats.prepared.Load()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, ins, 1, "one")
	if err := tx.QueryRow(sel, 1).Scan(&v); err != nil || v != "one" {
		t.Fatalf("in tx: %q, %v", v, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(sel, 1).Scan(&v); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("after rollback: %q, %v", v, err)
	}

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, ins, 2, "two")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(sel, 2).Scan(&v); err != nil || v != "two" {
		t.Fatalf("after commit: %q, %v", v, err)
	}

	// A read-only transaction goes through BeginTx's options.
	tx, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err == nil {
		if err := tx.QueryRow(sel, 2).Scan(&v); err != nil || v != "two" {
			t.Fatalf("read-only tx: %q, %v", v, err)
		}
		_ = tx.Rollback()
	}

	if got := cn.stats.prepared.Load(); got != prepared {
		t.Errorf("transactions prepared %d more statements, want 0", got-prepared)
	}

	// Roll back while the cached statement still has open rows, then reuse
	// the statement.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, ins, 3, "three")
	rows, err := tx.QueryContext(ctx, "SELECT v FROM kv ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no rows in tx")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	_ = rows.Close()
	var all []string
	rows, err = db.QueryContext(ctx, "SELECT v FROM kv ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		all = append(all, v)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, []string{"zero", "two"}) {
		t.Errorf("after rollback with open rows: %q", all)
	}
}

// TestLRUEviction checks that with size 2 the least recently used
// statement is closed.
func TestLRUEviction(t *testing.T) {
	ctx := context.Background()
	db, cn := openCached(t, testDSN(t, "lru.db"), 2)
	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	q := func(n int) {
		t.Helper()
		var got int
		if err := sc.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + ?", n), 0).Scan(&got); err != nil || got != n {
			t.Fatalf("query %d: %d, %v", n, got, err)
		}
	}
	expect := func(prepared, closed int64, queries ...string) {
		t.Helper()
		if p, c := cn.stats.prepared.Load(), cn.stats.closed.Load(); p != prepared || c != closed {
			t.Errorf("prepared %d closed %d, want %d and %d", p, c, prepared, closed)
		}
		rawConn(t, sc, func(c *conn) {
			if got := cachedQueries(c); !reflect.DeepEqual(got, queries) || len(c.cache) != len(queries) {
				t.Errorf("cache %q (map %d), want %q", got, len(c.cache), queries)
			}
		})
	}
	q(1)
	q(2)
	expect(2, 0, "SELECT 2 + ?", "SELECT 1 + ?")
	q(1) // hit, 1 becomes most recent
	expect(2, 0, "SELECT 1 + ?", "SELECT 2 + ?")
	q(3) // evicts 2
	expect(3, 1, "SELECT 3 + ?", "SELECT 1 + ?")
	q(1)
	q(2) // evicts 3
	expect(4, 2, "SELECT 2 + ?", "SELECT 1 + ?")
}

// TestNestedSameQuery runs a query again, and as an exec, while its own
// rows are still being read, inside a transaction and on a *sql.Conn.
func TestNestedSameQuery(t *testing.T) {
	ctx := context.Background()
	db, cn := openCached(t, testDSN(t, "nested.db"), 0)
	mustExec(t, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
	for i := 1; i <= 5; i++ {
		mustExec(t, db, "INSERT INTO t(id, v) VALUES(?, ?)", i, fmt.Sprint("v", i))
	}
	const a = "SELECT id, v FROM t WHERE id > ? ORDER BY id"

	type querier interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
		QueryRowContext(context.Context, string, ...any) *sql.Row
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}
	check := func(t *testing.T, q querier) {
		oneOff := cn.stats.oneOff.Load()
		rows, err := q.QueryContext(ctx, a, 0)
		if err != nil {
			t.Fatal(err)
		}
		var outer []int
		for rows.Next() {
			var id int
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				t.Fatal(err)
			}
			outer = append(outer, id)

			inner, err := q.QueryContext(ctx, a, id)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for inner.Next() {
				n++
			}
			if err := inner.Close(); err != nil {
				t.Fatal(err)
			}
			if n != 5-id {
				t.Errorf("inner query after %d: %d rows, want %d", id, n, 5-id)
			}
			var next int
			err = q.QueryRowContext(ctx, a, id).Scan(&next, &v)
			switch {
			case id < 5 && (err != nil || next != id+1):
				t.Errorf("QueryRow after %d: %d, %v", id, next, err)
			case id == 5 && !errors.Is(err, sql.ErrNoRows):
				t.Errorf("QueryRow after 5: %v", err)
			}
			if _, err := q.ExecContext(ctx, a, id); err != nil {
				t.Errorf("exec of the busy query: %v", err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(outer, []int{1, 2, 3, 4, 5}) {
			t.Errorf("outer rows %v", outer)
		}
		if got := cn.stats.oneOff.Load() - oneOff; got != 15 {
			t.Errorf("%d one-off statements, want 15", got)
		}
		// The cached statement is idle again and reused.
		prepared := cn.stats.prepared.Load()
		var id int
		var v string
		if err := q.QueryRowContext(ctx, a, 3).Scan(&id, &v); err != nil || id != 4 {
			t.Errorf("after nesting: %d, %v", id, err)
		}
		if cn.stats.prepared.Load() != prepared {
			t.Error("statement prepared again after its rows closed")
		}
	}

	t.Run("tx", func(t *testing.T) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		check(t, tx)
	})
	t.Run("conn", func(t *testing.T) {
		sc, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		check(t, sc)
	})
}

// TestEvictionSkipsBusy fills a cache of size 1 while a statement has open
// rows: the busy statement must survive, and the cache shrink back to its
// size once the rows close.
func TestEvictionSkipsBusy(t *testing.T) {
	ctx := context.Background()
	db, cn := openCached(t, testDSN(t, "busy.db"), 1)
	mustExec(t, db, "CREATE TABLE t(id INTEGER PRIMARY KEY)")
	for i := 1; i <= 4; i++ {
		mustExec(t, db, "INSERT INTO t(id) VALUES(?)", i)
	}
	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	rows, err := sc.QueryContext(ctx, "SELECT id FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		for j := range 3 {
			var got int
			q := fmt.Sprintf("SELECT id * %d FROM t WHERE id = ?", j+2)
			if err := sc.QueryRowContext(ctx, q, id).Scan(&got); err != nil || got != id*(j+2) {
				t.Fatalf("%s: %d, %v", q, got, err)
			}
		}
		rawConn(t, sc, func(c *conn) {
			if len(c.cache) > 2 {
				t.Errorf("cache holds %d statements, want at most 2", len(c.cache))
			}
		})
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []int{1, 2, 3, 4}) {
		t.Errorf("busy statement's rows: %v", ids)
	}
	rawConn(t, sc, func(c *conn) {
		if len(c.cache) != 1 {
			t.Errorf("cache holds %q after rows closed, want 1 statement", cachedQueries(c))
		}
	})
	if got := cn.stats.open(); got != 1 {
		t.Errorf("%d open statements, want 1", got)
	}
}

// TestMultiStatement runs a migration-style script, which is not cached.
func TestMultiStatement(t *testing.T) {
	ctx := context.Background()
	db, cn := openCached(t, testDSN(t, "multi.db"), 0)
	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	script := `
		CREATE TABLE a(x);
		CREATE TABLE b(y); -- comment; with a semicolon
		INSERT INTO a VALUES(1);
		INSERT INTO b VALUES('two;');
		CREATE TRIGGER tr AFTER INSERT ON a BEGIN INSERT INTO b VALUES(NEW.x); END;
	`
	for range 2 {
		if _, err := sc.ExecContext(ctx, script); err != nil {
			if !strings.Contains(err.Error(), "already exists") {
				t.Fatal(err)
			}
		}
	}
	mustExec(t, sc, "INSERT INTO a VALUES(?)", 5)
	var n int
	if err := sc.QueryRowContext(ctx, "SELECT count(*) FROM b").Scan(&n); err != nil || n != 2 {
		t.Fatalf("b has %d rows, %v; want 2", n, err)
	}
	if got := cn.stats.direct.Load(); got != 2 {
		t.Errorf("%d direct executions, want 2", got)
	}
	rawConn(t, sc, func(c *conn) {
		if _, ok := c.cache[script]; ok {
			t.Error("multi-statement script was cached")
		}
	})
}

// TestErrors checks that statements which cannot be prepared report the
// driver's error and are not cached.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	plain := openPlain(t, testDSN(t, "plain.db"))
	cached, cn := openCached(t, testDSN(t, "cached.db"), 0)
	for _, q := range []string{"SELEC 1", "SELECT * FROM missing", "SELECT nope()", "INSERT INTO t VALUES("} {
		_, errP := plain.QueryContext(ctx, q)
		_, errC := cached.QueryContext(ctx, q)
		if errP == nil || errC == nil || errP.Error() != errC.Error() {
			t.Errorf("query %q: plain %v, cached %v", q, errP, errC)
		}
		var se *sqlite.Error
		if !errors.As(errC, &se) {
			t.Errorf("query %q: error %T is not *sqlite.Error", q, errC)
		}
		_, errP = plain.ExecContext(ctx, q)
		_, errC = cached.ExecContext(ctx, q)
		if errP == nil || errC == nil || errP.Error() != errC.Error() {
			t.Errorf("exec %q: plain %v, cached %v", q, errP, errC)
		}
	}
	if got := cn.stats.prepared.Load(); got != 0 {
		t.Errorf("%d statements cached for failing queries", got)
	}
}

// TestSchemaChange reuses a cached SELECT * after the table changed shape,
// on the same connection and from another one.
func TestSchemaChange(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t, "schema.db")
	db, _ := openCached(t, dsn, 0)
	db.SetMaxOpenConns(1)
	other := openPlain(t, dsn)
	mustExec(t, db, "CREATE TABLE t(a INTEGER)")
	mustExec(t, db, "INSERT INTO t(a) VALUES(1)")

	read := func() string {
		t.Helper()
		rows, err := db.QueryContext(ctx, "SELECT * FROM t ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		out, err := dumpRows(rows)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	contains := func(out string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(out, p) {
				t.Errorf("result %q lacks %q", out, p)
			}
		}
	}
	contains(read(), "cols=[a]", "int64:1")
	mustExec(t, db, "ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7")
	contains(read(), "cols=[a b]", "int64:1 int64:7")
	mustExec(t, other, "ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'x'")
	contains(read(), "cols=[a b c]", `int64:1 int64:7 string:"x"`)
	mustExec(t, other, "DROP TABLE t")
	if _, err := db.QueryContext(ctx, "SELECT * FROM t ORDER BY 1"); err == nil ||
		!strings.Contains(err.Error(), "no such table") {
		t.Errorf("after DROP TABLE: %v", err)
	}
	mustExec(t, other, "CREATE TABLE t(z TEXT)")
	mustExec(t, other, "INSERT INTO t(z) VALUES('new')")
	contains(read(), "cols=[z]", `string:"new"`)
}

// TestContextCanceled checks a canceled query leaves the cached statement
// usable.
func TestContextCanceled(t *testing.T) {
	db, _ := openCached(t, testDSN(t, "ctx.db"), 0)
	db.SetMaxOpenConns(1)
	const q = "SELECT 1 + ?"
	var n int
	if err := db.QueryRow(q, 1).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.QueryRowContext(ctx, q, 1).Scan(&n); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled query: %v", err)
	}
	if err := db.QueryRow(q, 2).Scan(&n); err != nil || n != 3 {
		t.Fatalf("after cancel: %d, %v", n, err)
	}
}

// TestConcurrent uses the database from 8 goroutines; run it with -race.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	db, cn := openCached(t, testDSN(t, "concurrent.db"), 4)
	db.SetMaxOpenConns(4)
	mustExec(t, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				k := g*1000 + i
				if _, err := db.ExecContext(ctx, "INSERT INTO kv(k, v) VALUES(?, ?)", k, fmt.Sprint(k)); err != nil {
					errs <- err
					return
				}
				var v string
				if err := db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", k).Scan(&v); err != nil || v != fmt.Sprint(k) {
					errs <- fmt.Errorf("k=%d: %q, %v", k, v, err)
					return
				}
				// Cycle through more texts than the cache holds.
				var x int
				if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + ?", i%7), 1).Scan(&x); err != nil || x != i%7+1 {
					errs <- fmt.Errorf("SELECT %d: %d, %v", i%7, x, err)
					return
				}
				if i%10 == 0 {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						errs <- err
						return
					}
					if _, err := tx.ExecContext(ctx, "UPDATE kv SET v = v || '!' WHERE k = ?", k); err != nil {
						errs <- err
						tx.Rollback()
						return
					}
					if err := tx.Commit(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM kv").Scan(&n); err != nil || n != 800 {
		t.Errorf("count %d, %v", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cn.stats.open(); got != 0 {
		t.Errorf("%d statements still open after db.Close", got)
	}
}

// TestCloseReleasesStatements checks that closing connections closes every
// cached statement, also one with rows still open.
func TestCloseReleasesStatements(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t, "close.db")

	t.Run("db", func(t *testing.T) {
		db, cn := openCached(t, dsn, 0)
		db.SetMaxIdleConns(5) // keep all three connections until db.Close
		mustExec(t, db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY)")
		var conns []*sql.Conn
		for i := range 3 {
			sc, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, sc)
			for j := range 5 {
				mustExec(t, sc, fmt.Sprintf("INSERT INTO t(id) VALUES(%d + ?)", j), i*10)
			}
		}
		for _, sc := range conns {
			sc.Close()
		}
		if got := cn.stats.open(); got < 15 {
			t.Errorf("%d open statements before Close, want at least 15", got)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if got := cn.stats.open(); got != 0 {
			t.Errorf("%d statements still open after db.Close", got)
		}
	})

	t.Run("driver", func(t *testing.T) {
		cn := NewConnector(dsn, 0).(*connector)
		dc, err := cn.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := dc.(*conn)
		if _, err := c.ExecContext(ctx, "INSERT INTO t(id) VALUES(?)", []driver.NamedValue{{Ordinal: 1, Value: int64(100)}}); err != nil {
			t.Fatal(err)
		}
		rows, err := c.QueryContext(ctx, "SELECT id FROM t ORDER BY id", nil)
		if err != nil {
			t.Fatal(err)
		}
		dest := make([]driver.Value, 1)
		if err := rows.Next(dest); err != nil {
			t.Fatal(err)
		}
		if got := cn.stats.open(); got != 2 {
			t.Errorf("%d open statements, want 2", got)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := cn.stats.open(); got != 0 {
			t.Errorf("%d statements still open after Close", got)
		}
		if err := rows.Close(); err != nil {
			t.Errorf("closing rows after the connection: %v", err)
		}
		if c.IsValid() {
			t.Error("closed connection reports valid")
		}
	})
}

// TestUnwrap checks modernc helpers reach the driver's connection.
func TestUnwrap(t *testing.T) {
	ctx := context.Background()
	db, _ := openCached(t, testDSN(t, "unwrap.db"), 0)
	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	const sqliteLimitLength = 0
	if n, err := sqlite.Limit(sc, sqliteLimitLength, -1); err != nil || n <= 0 {
		t.Errorf("sqlite.Limit: %d, %v", n, err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	if db.Driver() == nil {
		t.Error("no driver")
	}
	plain := openPlain(t, testDSN(t, "plain.db"))
	if reflect.TypeOf(db.Driver()) != reflect.TypeOf(plain.Driver()) {
		t.Errorf("driver %T, want %T", db.Driver(), plain.Driver())
	}
}

// TestBadDSN checks a DSN modernc rejects up front surfaces on first use.
func TestBadDSN(t *testing.T) {
	db := sql.OpenDB(NewConnector("file:x.db?%zz", 0))
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Error("ping with a malformed DSN succeeded")
	}
	if db.Driver() == nil {
		t.Error("no driver")
	}
}

// fakeConn and fakeStmt simulate a driver whose statements report a broken
// connection.
type fakeConn struct{ closed bool }

func (f *fakeConn) Prepare(string) (driver.Stmt, error) { return fakeStmt{}, nil }
func (f *fakeConn) Close() error                        { f.closed = true; return nil }
func (f *fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("no tx") }

type fakeStmt struct{}

func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return nil, driver.ErrBadConn }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, driver.ErrBadConn }
func (fakeStmt) ExecContext(context.Context, []driver.NamedValue) (driver.Result, error) {
	return nil, driver.ErrBadConn
}
func (fakeStmt) QueryContext(context.Context, []driver.NamedValue) (driver.Rows, error) {
	return nil, driver.ErrBadConn
}

// TestBadConn checks driver.ErrBadConn from a cached statement is
// propagated and retires the connection.
func TestBadConn(t *testing.T) {
	ctx := context.Background()
	var st stats
	inner := &fakeConn{}
	c := newConn(inner, 2, &st)
	if err := c.ResetSession(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "UPDATE x SET y = 1", nil); !errors.Is(err, driver.ErrBadConn) {
		t.Errorf("exec: %v", err)
	}
	if _, err := c.QueryContext(ctx, "SELECT 1", nil); !errors.Is(err, driver.ErrBadConn) {
		t.Errorf("query: %v", err)
	}
	if err := c.ResetSession(ctx); !errors.Is(err, driver.ErrBadConn) {
		t.Errorf("ResetSession: %v", err)
	}
	if c.IsValid() {
		t.Error("IsValid after ErrBadConn")
	}
	// Without QueryerContext the uncached path defers to database/sql.
	if _, err := c.QueryContext(ctx, "SELECT 1; SELECT 2", nil); !errors.Is(err, driver.ErrSkip) {
		t.Errorf("multi-statement query without QueryerContext: %v", err)
	}
	if err := c.Close(); err != nil || !inner.closed {
		t.Errorf("close: %v, inner closed %v", err, inner.closed)
	}
	if st.open() != 0 {
		t.Errorf("%d statements open after close", st.open())
	}
}
