package stmtcache

import (
	"database/sql/driver"
	"reflect"
)

// cachedRows are the Rows of a cached statement. They keep the statement
// busy until closed, and forward the column-type interfaces of the driver's
// Rows, falling back to what database/sql assumes when a method is missing.
type cachedRows struct {
	inner  driver.Rows
	c      *conn
	e      *entry
	closed bool
}

// Interfaces the Rows of a cached statement implement.
var (
	_ driver.Rows                           = (*cachedRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*cachedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*cachedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*cachedRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*cachedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*cachedRows)(nil)
)

// Columns forwards to the driver's Rows.
func (r *cachedRows) Columns() []string { return r.inner.Columns() }

// Next forwards to the driver's Rows.
func (r *cachedRows) Next(dest []driver.Value) error { return r.inner.Next(dest) }

// Close closes the driver's Rows, which resets the statement, marks the
// statement idle and trims the cache if it grew past its size while the
// statement was busy. Closing twice, or after the connection closed the
// rows, is a no-op.
func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	err := r.closeInner()
	r.c.trim()
	return r.c.note(err)
}

// closeInner closes the driver's Rows and releases the statement.
func (r *cachedRows) closeInner() error {
	r.closed = true
	r.e.rows = nil
	return r.inner.Close()
}

// ColumnTypeDatabaseTypeName forwards to the driver's Rows.
func (r *cachedRows) ColumnTypeDatabaseTypeName(index int) string {
	if x, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return x.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

// ColumnTypeLength forwards to the driver's Rows.
func (r *cachedRows) ColumnTypeLength(index int) (length int64, ok bool) {
	if x, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return x.ColumnTypeLength(index)
	}
	return 0, false
}

// ColumnTypeNullable forwards to the driver's Rows.
func (r *cachedRows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if x, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return x.ColumnTypeNullable(index)
	}
	return false, false
}

// ColumnTypePrecisionScale forwards to the driver's Rows.
func (r *cachedRows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if x, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok {
		return x.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

// ColumnTypeScanType forwards to the driver's Rows.
func (r *cachedRows) ColumnTypeScanType(index int) reflect.Type {
	if x, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return x.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
