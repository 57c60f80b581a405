package stmtcache

import (
	"context"
	"database/sql"
	"testing"
)

// BenchmarkQueryRow compares the plain driver with the cache on a point
// SELECT and on an INSERT.
func BenchmarkQueryRow(b *testing.B) {
	ctx := context.Background()
	open := map[string]func(b *testing.B, dsn string) *sql.DB{
		"plain": func(b *testing.B, dsn string) *sql.DB { return openPlain(b, dsn) },
		"cached": func(b *testing.B, dsn string) *sql.DB {
			db, _ := openCached(b, dsn, 0)
			return db
		},
	}
	setup := func(b *testing.B, kind string) *sql.DB {
		db := open[kind](b, testDSN(b, kind+".db"))
		db.SetMaxOpenConns(1)
		mustExec(b, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)")
		mustExec(b, db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) "+
			"INSERT INTO kv(k, v) SELECT i, 'value ' || i FROM n")
		return db
	}
	for _, kind := range []string{"plain", "cached"} {
		b.Run("select/"+kind, func(b *testing.B) {
			db := setup(b, kind)
			var v string
			i := 0
			for b.Loop() {
				if err := db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", i%1000).Scan(&v); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	for _, kind := range []string{"plain", "cached"} {
		b.Run("insert/"+kind, func(b *testing.B) {
			db := setup(b, kind)
			// Keys cycle through a fixed range so that every run writes a
			// table of the same size whatever b.N is.
			i := 0
			for b.Loop() {
				if _, err := db.ExecContext(ctx, "INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)", 1000+i%1000, "inserted"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
