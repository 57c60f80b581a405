package stmtcache

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// stats counts cache events for one connector. Only the rare events are
// counted, so a cache hit costs no atomic operation; tests read them.
type stats struct {
	prepared atomic.Int64 // statements prepared into a cache
	closed   atomic.Int64 // cached statements closed (evicted or on Close)
	oneOff   atomic.Int64 // queries run uncached because their statement was busy
	direct   atomic.Int64 // queries not cacheable (multi-statement, empty, unsure)
}

// open returns the number of cached statements not yet closed.
func (s *stats) open() int64 { return s.prepared.Load() - s.closed.Load() }

// conn wraps a driver connection with its statement cache. It is used by
// one goroutine at a time (database/sql guarantees it), so it has no lock.
type conn struct {
	inner   driver.Conn
	queryer driver.QueryerContext // nil if inner lacks it
	execer  driver.ExecerContext  // nil if inner lacks it

	size  int
	stats *stats
	cache map[string]*entry
	lru   entry // sentinel: lru.next is the most, lru.prev the least recently used

	bad    bool // a cached statement reported driver.ErrBadConn
	closed bool
}

// Interfaces the wrapped connection implements.
var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

func newConn(inner driver.Conn, size int, st *stats) *conn {
	c := &conn{inner: inner, size: size, stats: st, cache: make(map[string]*entry)}
	c.queryer, _ = inner.(driver.QueryerContext)
	c.execer, _ = inner.(driver.ExecerContext)
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

// Unwrap returns the driver's own connection, for sqlite.Limit and for
// (*sql.Conn).Raw callers that need modernc-specific methods.
func (c *conn) Unwrap() driver.Conn { return c.inner }

// Prepare forwards to the driver; explicitly prepared statements are owned
// by database/sql and not cached.
func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

// PrepareContext forwards to the driver; the statement is not cached.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare(ctx, query)
}

func (c *conn) prepare(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.inner.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.inner.Prepare(query)
}

// Begin forwards to the driver.
//
// Deprecated: database/sql uses BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.inner.Begin() //nolint:staticcheck // forwarding the deprecated method on purpose
}

// BeginTx forwards to the driver. Cached statements stay usable inside the
// transaction: a statement belongs to the connection, not to a transaction.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.inner.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	if opts.Isolation != driver.IsolationLevel(0) || opts.ReadOnly {
		return nil, errors.New("stmtcache: driver does not support non-default transaction options")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.inner.Begin() //nolint:staticcheck // fallback for drivers without BeginTx
}

// Ping forwards to the driver; without driver support it succeeds, as
// database/sql does.
func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession forwards to the driver. The cached statements survive: they
// belong to the connection. It reports driver.ErrBadConn once a cached
// statement has done so.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.bad {
		return driver.ErrBadConn
	}
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid forwards to the driver; it is false once a cached statement has
// reported driver.ErrBadConn or the connection is closed.
func (c *conn) IsValid() bool {
	if c.bad || c.closed {
		return false
	}
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue forwards to the driver; without driver support it returns
// driver.ErrSkip, which makes database/sql apply its default conversion,
// exactly as for a connection that does not implement the interface.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// Close closes the Rows still open on cached statements, every cached
// statement, and then the driver's connection. It returns the first error.
func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var first error
	for e := c.lru.next; e != &c.lru; {
		next := e.next
		if e.rows != nil {
			if err := e.rows.closeInner(); err != nil && first == nil {
				first = err
			}
		}
		if err := c.closeEntry(e); err != nil && first == nil {
			first = err
		}
		e = next
	}
	if err := c.inner.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// QueryContext runs query with the cached statement for its text, preparing
// and caching it on a miss. The statement stays busy until the returned
// Rows are closed.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	e, err := c.lookup(ctx, query)
	if err != nil {
		return nil, c.note(err)
	}
	if e == nil {
		c.stats.direct.Add(1)
		return c.queryDirect(ctx, query, args)
	}
	if e.rows != nil {
		c.stats.oneOff.Add(1)
		return c.queryDirect(ctx, query, args)
	}
	rows, err := e.qc.QueryContext(ctx, args)
	if err != nil && isSchemaChanged(err) {
		_ = c.closeEntry(e)
		if e, err = c.lookup(ctx, query); err != nil {
			return nil, c.note(err)
		}
		rows, err = e.qc.QueryContext(ctx, args)
	}
	if err != nil {
		return nil, c.note(err)
	}
	r := &cachedRows{inner: rows, c: c, e: e}
	e.rows = r
	return r, nil
}

// ExecContext runs query with the cached statement for its text, preparing
// and caching it on a miss.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, err := c.lookup(ctx, query)
	if err != nil {
		return nil, c.note(err)
	}
	if e == nil {
		c.stats.direct.Add(1)
		return c.execDirect(ctx, query, args)
	}
	if e.rows != nil {
		c.stats.oneOff.Add(1)
		return c.execDirect(ctx, query, args)
	}
	res, err := e.ec.ExecContext(ctx, args)
	if err != nil && isSchemaChanged(err) {
		// SQLITE_SCHEMA is reported before the statement changes anything,
		// so running it once more is safe.
		_ = c.closeEntry(e)
		if e, err = c.lookup(ctx, query); err != nil {
			return nil, c.note(err)
		}
		res, err = e.ec.ExecContext(ctx, args)
	}
	if err != nil {
		return nil, c.note(err)
	}
	return res, nil
}

// queryDirect runs query without the cache. driver.ErrSkip, returned when
// the driver has no QueryerContext, makes database/sql prepare it through
// PrepareContext instead.
func (c *conn) queryDirect(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.queryer == nil {
		return nil, driver.ErrSkip
	}
	return c.queryer.QueryContext(ctx, query, args)
}

// execDirect is queryDirect for ExecContext.
func (c *conn) execDirect(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.execer == nil {
		return nil, driver.ErrSkip
	}
	return c.execer.ExecContext(ctx, query, args)
}

// note records that the connection went bad and returns err unchanged.
func (c *conn) note(err error) error {
	if errors.Is(err, driver.ErrBadConn) {
		c.bad = true
	}
	return err
}
