// Package stmtcache wraps the modernc.org/sqlite driver with a
// per-connection cache of prepared statements.
//
// # Why
//
// modernc.org/sqlite prepares the SQL text of every db.QueryContext and
// db.ExecContext call from scratch and finalizes the statement afterwards.
// For the short, repetitive statements a web application or a job queue
// runs, parsing and planning dominate: profiling River (a job queue) on
// SQLite found 63% of its CPU time spent re-parsing SQL, and keeping the
// prepared statements per connection raised its throughput from about 1.5k
// to 6k jobs/s. Use
//
//	db := sql.OpenDB(stmtcache.NewConnector(dsn, 256))
//
// instead of sql.Open("sqlite", dsn); the DSN syntax is modernc's.
//
// # Rules
//
//   - Each physical connection owns an LRU cache of up to size statements,
//     keyed by the exact query text. ExecContext and QueryContext on the
//     connection look the text up, prepare it on a miss, and run the cached
//     statement with the arguments. Statements prepared explicitly through
//     db.Prepare / tx.Prepare are not cached: database/sql owns those.
//   - A statement is never closed while it is in use. The Rows of a query
//     keep its statement busy until Rows.Close. Running the same text again
//     on the same connection while it is busy — possible inside a
//     transaction or on a *sql.Conn, where a nested query can run while the
//     outer Rows are still open — uses a one-off statement, prepared and
//     finalized by the driver as it would be without the cache. Eviction
//     skips busy statements; the cache may therefore exceed size by the
//     number of Rows open at once, and shrinks back when they close.
//   - Query text holding more than one statement (a migration script such
//     as "CREATE TABLE a(x); CREATE TABLE b(y);"), text holding none, and
//     text the scanner cannot classify with certainty (an unterminated
//     quote or comment, a ';' inside a CREATE TRIGGER body) are never
//     cached; they go straight to the driver, unchanged.
//   - Each cached statement holds SQLite memory (typically a few KiB) for
//     as long as its connection lives; size bounds it per connection, so
//     the total is at most size times the pool size.
//   - Errors are the driver's: a statement that cannot be prepared fails
//     with the error the driver reports without the cache, and nothing is
//     cached for it. An error other than a schema change leaves the
//     statement cached; SQLite resets it and it can run again. If a cached
//     statement reports driver.ErrBadConn, that error is returned as is and
//     the connection reports itself invalid so that database/sql discards it.
//   - Schema changes need nothing: SQLite (sqlite3_prepare_v2) re-prepares
//     a statement whose schema changed when it next runs. Should the driver
//     nevertheless report SQLITE_SCHEMA, the statement is evicted and
//     prepared once more.
//   - Closing the connection closes its open cached Rows, then every cached
//     statement, then the driver's connection.
//   - A connection is not safe for concurrent use and takes no locks:
//     database/sql hands a driver connection, and the Rows read from it, to
//     one goroutine at a time. A *sql.DB built on the Connector is safe for
//     concurrent use as usual.
//
// The wrapped connection forwards driver.ConnBeginTx, driver.Pinger,
// driver.SessionResetter, driver.Validator and driver.NamedValueChecker to
// the driver's connection, and Unwrap returns that connection, so
// sqlite.Limit and (*sql.Conn).Raw users can reach modernc-specific methods.
package stmtcache

import (
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// DefaultSize is the number of statements each connection caches when
// NewConnector is given a size <= 0.
const DefaultSize = 256

// sqliteSchema is SQLite's primary result code SQLITE_SCHEMA.
const sqliteSchema = 17

// NewConnector returns a driver.Connector for sql.OpenDB that opens
// connections to dsn through the driver modernc.org/sqlite registers as
// "sqlite" (carrying every function, collation and hook registered with that
// package), each connection with a cache of up to size prepared statements;
// size <= 0 means DefaultSize.
//
// A dsn modernc rejects up front (a query string that does not parse) is
// reported by every Connect, and so by the first use of the sql.DB; other
// DSN errors surface on Connect as they do with sql.Open.
func NewConnector(dsn string, size int) driver.Connector {
	if size <= 0 {
		size = DefaultSize
	}
	base, err := sqlite.NewConnector(dsn)
	return &connector{base: base, err: err, size: size}
}

// connector implements driver.Connector; it is safe for concurrent use.
type connector struct {
	base  driver.Connector // nil when err != nil
	err   error            // the DSN error sqlite.NewConnector reported
	size  int
	stats stats
}

// Connect opens a connection through the sqlite driver and wraps it.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.err != nil {
		return nil, c.err
	}
	inner, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newConn(inner, c.size, &c.stats), nil
}

// Driver returns the driver registered as "sqlite", as sqlite.NewConnector's
// connector does, so (*sql.DB).Driver() matches sql.Open("sqlite", dsn).
func (c *connector) Driver() driver.Driver {
	if c.base != nil {
		return c.base.Driver()
	}
	// The empty DSN has no query string, so this cannot fail.
	if base, err := sqlite.NewConnector(""); err == nil {
		return base.Driver()
	}
	return nil
}

// isSchemaChanged reports whether err is SQLite's SQLITE_SCHEMA.
func isSchemaChanged(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteSchema
}
