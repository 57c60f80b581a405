package stmtcache

import (
	"context"
	"database/sql/driver"
)

// entry is one cached statement, linked into its connection's LRU list.
type entry struct {
	query string
	stmt  driver.Stmt
	qc    driver.StmtQueryContext
	ec    driver.StmtExecContext

	// rows is the open Rows reading from stmt, nil when stmt is idle. A busy
	// statement is neither reused nor evicted until its rows are closed.
	rows *cachedRows

	prev, next *entry
}

// lookup returns the cached statement for query, moved to the front of the
// LRU list. On a miss it checks that query may be cached — it returns nil
// and no error when it may not, see cacheable — then prepares it (up to its
// terminating ';'), caches it and evicts the least recently used idle
// statements beyond the cache size. A prepare error is the driver's,
// unchanged, and nothing is cached. A statement without context-aware Query
// and Exec methods is closed and driver.ErrSkip returned, so database/sql
// falls back to PrepareContext.
func (c *conn) lookup(ctx context.Context, query string) (*entry, error) {
	if e := c.cache[query]; e != nil {
		if c.lru.next != e {
			c.unlink(e)
			c.pushFront(e)
		}
		return e, nil
	}
	end, ok := cacheable(query)
	if !ok {
		return nil, nil
	}
	st, err := c.prepare(ctx, query[:end])
	if err != nil {
		return nil, err
	}
	qc, okq := st.(driver.StmtQueryContext)
	ec, oke := st.(driver.StmtExecContext)
	if !okq || !oke {
		_ = st.Close()
		return nil, driver.ErrSkip
	}
	c.stats.prepared.Add(1)
	e := &entry{query: query, stmt: st, qc: qc, ec: ec}
	c.cache[query] = e
	c.pushFront(e)
	c.trim()
	return e, nil
}

// trim closes the least recently used idle statements until the cache holds
// at most size of them, or only busy ones and the most recent are left.
func (c *conn) trim() {
	for e := c.lru.prev; len(c.cache) > c.size && e != &c.lru && e != c.lru.next; {
		prev := e.prev
		if e.rows == nil {
			// A close error concerns a statement nobody will use again;
			// the connection itself is unaffected.
			_ = c.closeEntry(e)
		}
		e = prev
	}
}

// closeEntry removes e from the cache and closes its statement. e must not
// be busy.
func (c *conn) closeEntry(e *entry) error {
	delete(c.cache, e.query)
	c.unlink(e)
	c.stats.closed.Add(1)
	return e.stmt.Close()
}

func (c *conn) pushFront(e *entry) {
	e.prev = &c.lru
	e.next = c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}

func (c *conn) unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}
