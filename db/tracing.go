package db

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/XSAM/otelsql"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// Option customises Open.
type Option func(*openOptions)

type openOptions struct {
	tracer trace.TracerProvider
}

// WithTracerProvider makes the handles Open returns (DB.SQL and the pools
// of OpenSQLitePool) trace the SQL they run with tp: each query, exec,
// transaction begin, commit and rollback, and each new connection, gets a
// span carrying db.system and the statement text — never its argument
// values, which can hold passwords and tokens. A span is started only as
// the child of a recording span in the statement's context (a sampled
// request or job), so queries run outside a trace — River polling for
// jobs, migrations, janitors — cost no span and flood no trace. Pings,
// session resets and row iteration get no spans.
//
// A nil tp leaves the driver unwrapped: with tracing off, database calls
// run exactly as without this option.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *openOptions) { o.tracer = tp }
}

// openConnector returns the *sql.DB over c, traced when o asks for it.
func (o openOptions) openConnector(c driver.Connector, dialect Dialect) *sql.DB {
	if o.tracer == nil {
		return sql.OpenDB(c)
	}
	return otelsql.OpenDB(c, o.otelsqlOptions(dialect)...)
}

// otelsqlOptions configures otelsql as WithTracerProvider describes.
func (o openOptions) otelsqlOptions(dialect Dialect) []otelsql.Option {
	system := string(dialect)
	if dialect == Postgres {
		system = "postgresql" // the name OpenTelemetry's conventions use
	}
	return []otelsql.Option{
		otelsql.WithTracerProvider(o.tracer),
		// Trellis's database metrics are the Prometheus pool gauges;
		// otelsql's own OpenTelemetry metrics would go nowhere.
		otelsql.WithMeterProvider(metricnoop.NewMeterProvider()),
		// db.system is what most trace backends still read; db.system.name
		// is its current name in the conventions, next to otelsql's
		// db.query.text. They are span attributes only (the getter runs
		// for recorded spans): with WithAttributes otelsql would also hash
		// and sort them into a metric attribute set on every call, traced
		// or not, which measured as a fifth of a point query's CPU.
		otelsql.WithAttributesGetter(systemAttributes(system)),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			OmitConnResetSession: true,
			OmitRows:             true,
			DisableErrSkip:       true,
			SpanFilter:           inRecordingSpan,
		}),
	}
}

// systemAttributes returns the getter of the attributes every database
// span carries. It ignores the statement's arguments: their values can
// hold passwords and tokens, so they never reach a span.
func systemAttributes(system string) otelsql.AttributesGetter {
	attrs := []attribute.KeyValue{attribute.String("db.system", system), attribute.String("db.system.name", system)}
	return func(context.Context, otelsql.Method, string, []driver.NamedValue) []attribute.KeyValue {
		return attrs
	}
}

// inRecordingSpan admits a database span only under a span that records:
// a query with no trace (background polling) or in an unsampled one gets
// none.
func inRecordingSpan(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
	return trace.SpanFromContext(ctx).IsRecording()
}
