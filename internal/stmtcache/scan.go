package stmtcache

import "strings"

// cacheable reports whether query is exactly one SQL statement and may be
// cached. It returns the length of the text to prepare: the whole query, or
// the query up to its terminating ';' when only blanks and comments follow,
// so that SQLite does not see a "tail" after the statement (modernc treats a
// statement with a tail as a script and re-parses it on every execution).
// Nothing else is trimmed: SQLite derives the names of unaliased result
// columns from the source text, so "SELECT 1 -- c" names its column
// "1 -- c", and the prepared text must keep such a comment.
//
// The scan is conservative: it understands SQLite's quotes ('…', "…", `…`,
// […]) and comments (-- and /* */), and it refuses text with significant
// bytes after a ';' outside quotes and comments, text without any
// significant byte, text starting with ';', and text with an unterminated
// quote or block comment. A statement with a ';' inside, such as CREATE
// TRIGGER … BEGIN …; END, is therefore refused too; it runs uncached.
func cacheable(query string) (end int, ok bool) {
	seenContent, seenSemicolon := false, false
	for i := 0; i < len(query); {
		ch := query[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f':
			i++
			continue
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			nl := strings.IndexByte(query[i+2:], '\n')
			if nl < 0 {
				i = len(query)
			} else {
				i += 2 + nl + 1
			}
			continue
		case ch == '/' && i+1 < len(query) && query[i+1] == '*':
			stop := strings.Index(query[i+2:], "*/")
			if stop < 0 {
				return 0, false
			}
			i += 2 + stop + 2
			continue
		}
		// A significant byte.
		if seenSemicolon {
			return 0, false
		}
		switch ch {
		case ';':
			if !seenContent {
				return 0, false
			}
			seenSemicolon = true
			i++
			end = i
		case '\'', '"', '`', '[':
			closer := ch
			if ch == '[' {
				closer = ']'
			}
			// A doubled quote inside the literal ends it and starts
			// another one at once, which scans the same.
			j := strings.IndexByte(query[i+1:], closer)
			if j < 0 {
				return 0, false
			}
			seenContent = true
			i += 1 + j + 1
		default:
			seenContent = true
			i++
		}
	}
	if !seenSemicolon {
		end = len(query)
	}
	return end, seenContent
}
