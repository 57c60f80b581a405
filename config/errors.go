package config

import (
	"errors"
	"strings"
)

// ExitCode is the process exit status for configuration errors.
const ExitCode = 2

// Error is one configuration problem: where it came from, which key, what is
// wrong and how to fix it.
type Error struct {
	// Source is a file path, "env TRELLIS_…", "override" or "default".
	Source string
	// Key is "section.key", or empty for whole-file problems.
	Key string
	// Problem says what is wrong.
	Problem string
	// Fix says what to do about it.
	Fix string
}

// Error formats the problem as "source: key: problem (fix: …)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(e.Fix)
		b.WriteString(")")
	}
	return b.String()
}

// Errors collects every problem found while loading, so one start-up attempt
// reports them all.
type Errors []*Error

// Error lists every problem, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return "invalid configuration:\n  " + strings.Join(lines, "\n  ")
}

// IsConfigError reports whether err is (or wraps) a configuration problem,
// which should end the process with [ExitCode].
func IsConfigError(err error) bool {
	var es Errors
	var e *Error
	return errors.As(err, &es) || errors.As(err, &e)
}
