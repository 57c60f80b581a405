// Package db opens the app's database — the embedded SQLite file by default,
// PostgreSQL when database.url says so — and applies migrations.
//
// SQLite is opened in WAL mode with a busy timeout, foreign keys on,
// synchronous=NORMAL and IMMEDIATE transactions (so a transaction that
// writes never fails half-way on a lock upgrade), and each connection
// caches its prepared statements. A goroutine checkpoints the write-ahead
// log in the background (see walAutocheckpoint), so that commits rarely
// do. PostgreSQL is opened
// through a pgx pool that is also available to components that speak pgx
// natively.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/stmtcache"
)

// Dialect names a supported database engine.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrUnreachable is wrapped by Open when the database cannot be reached.
var ErrUnreachable = errors.New("database unreachable")

// DB is an open database handle.
type DB struct {
	// SQL is the database/sql handle every component shares.
	SQL *sql.DB
	// Dialect says which engine this is.
	Dialect Dialect
	// Pool is the pgx pool behind SQL on PostgreSQL; nil on SQLite.
	Pool *pgxpool.Pool
	// Path is the SQLite file; empty on PostgreSQL.
	Path string

	dsn  string        // SQLite data source name, for extra pools
	opts openOptions   // how Open was called, for extra pools
	ckpt *checkpointer // SQLite's background checkpointer
}

// Open opens the database described by cfg. An empty URL means the SQLite
// file app.db in dataDir (created with its directory if missing). It pings
// the database before returning; failure to connect wraps ErrUnreachable.
// WithTracerProvider makes its handles trace their SQL.
func Open(ctx context.Context, cfg config.Database, dataDir string, opts ...Option) (*DB, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case cfg.URL == "":
		return openSQLite(ctx, cfg, filepath.Join(dataDir, "app.db"), o)
	case strings.HasPrefix(cfg.URL, "sqlite:"):
		return openSQLite(ctx, cfg, strings.TrimPrefix(strings.TrimPrefix(cfg.URL, "sqlite:"), "//"), o)
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		return openPostgres(ctx, cfg, o)
	}
	return nil, fmt.Errorf("db: unsupported database.url %q (use sqlite:PATH or postgres://…)", cfg.URL)
}

func openSQLite(ctx context.Context, cfg config.Database, path string, o openOptions) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: creating data directory %s: %w", dir, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walAutocheckpoint)+")")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	// Every connection caches its prepared statements: re-parsing SQL
	// otherwise dominates the CPU of busy queries (see internal/stmtcache).
	dsn := "file:" + path + "?" + q.Encode()
	sqldb := o.openConnector(stmtcache.NewConnector(dsn, stmtcache.DefaultSize), SQLite)
	maxOpen := cfg.MaxOpenConns
	if maxOpen == 0 {
		maxOpen = 8
	}
	configurePool(sqldb, cfg, maxOpen)
	d := &DB{SQL: sqldb, Dialect: SQLite, Path: path, dsn: dsn, opts: o}
	if err := d.Ping(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("db: sqlite %s: %w: %w", path, ErrUnreachable, err)
	}
	if err := d.startCheckpointer(); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("db: sqlite %s: %w", path, err)
	}
	return d, nil
}

func openPostgres(ctx context.Context, cfg config.Database, o openOptions) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("db: parsing database.url: %w", err)
	}
	if cfg.MaxOpenConns > 0 {
		pcfg.MaxConns = int32(cfg.MaxOpenConns)
	}
	if cfg.ConnMaxLifetime > 0 {
		pcfg.MaxConnLifetime = cfg.ConnMaxLifetime
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("db: postgres: %w: %w", ErrUnreachable, err)
	}
	// The same as stdlib.OpenDBFromPool, with the connector exposed so
	// that tracing can wrap it. River's own queries go to the pool
	// directly and are not traced.
	sqldb := o.openConnector(stdlib.GetPoolConnector(pool), Postgres)
	configurePool(sqldb, cfg, 0)
	d := &DB{SQL: sqldb, Dialect: Postgres, Pool: pool, opts: o}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: postgres at %s: %w: %w", pcfg.ConnConfig.Host, ErrUnreachable, err)
	}
	return d, nil
}

func configurePool(sqldb *sql.DB, cfg config.Database, maxOpen int) {
	if maxOpen > 0 {
		sqldb.SetMaxOpenConns(maxOpen)
	}
	idle := cfg.MaxIdleConns
	if idle == 0 {
		idle = max(maxOpen, 2)
	}
	sqldb.SetMaxIdleConns(idle)
	sqldb.SetConnMaxLifetime(cfg.ConnMaxLifetime)
}

// OpenSQLitePool opens another pool on the same SQLite file with the same
// settings, limited to maxOpen connections; background components use one
// of their own so they never take the app's connections. It is traced
// like DB.SQL when Open was given a tracer provider. It fails on
// PostgreSQL, where the shared pool is used instead.
func (d *DB) OpenSQLitePool(maxOpen int) (*sql.DB, error) {
	if d.Dialect != SQLite {
		return nil, errors.New("db: OpenSQLitePool needs SQLite")
	}
	p := d.opts.openConnector(stmtcache.NewConnector(d.dsn, stmtcache.DefaultSize), SQLite)
	p.SetMaxOpenConns(maxOpen)
	p.SetMaxIdleConns(maxOpen)
	return p, nil
}

// Ping checks the database answers within 5 seconds (or ctx's deadline).
func (d *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return d.SQL.PingContext(ctx)
}

// Close closes the handle and, on PostgreSQL, the pool; on SQLite it
// stops the background checkpointer first.
func (d *DB) Close() error {
	if d.ckpt != nil {
		d.ckpt.close()
	}
	err := d.SQL.Close()
	if d.Pool != nil {
		d.Pool.Close()
	}
	return err
}

// Rebind rewrites '?' placeholders as $1, $2, … on PostgreSQL so framework
// queries can be written once. Question marks inside quoted strings are left
// alone.
func (d *DB) Rebind(query string) string {
	if d.Dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n, quote := 0, byte(0)
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
