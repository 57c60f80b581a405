package stmtcache

import "testing"

func TestCacheable(t *testing.T) {
	cases := []struct {
		query string
		ok    bool
		text  string // query[:end] when ok
	}{
		{"SELECT 1", true, "SELECT 1"},
		{"SELECT 1;", true, "SELECT 1;"},
		{"  SELECT 1 ;  \n\t", true, "  SELECT 1 ;"},
		{"SELECT 1  \n", true, "SELECT 1  \n"},
		{"SELECT 1; -- trailing comment", true, "SELECT 1;"},
		{"SELECT 1 /* c */", true, "SELECT 1 /* c */"},
		{"SELECT 1 -- c\n;", true, "SELECT 1 -- c\n;"},
		{"-- leading\nSELECT 1", true, "-- leading\nSELECT 1"},
		{"SELECT ';' AS x", true, "SELECT ';' AS x"},
		{"SELECT 'it''s; fine'", true, "SELECT 'it''s; fine'"},
		{`SELECT "a;b" FROM t`, true, `SELECT "a;b" FROM t`},
		{"SELECT `a;b` FROM t", true, "SELECT `a;b` FROM t"},
		{"SELECT [a;b] FROM t", true, "SELECT [a;b] FROM t"},
		{"SELECT 1 -- ; SELECT 2", true, "SELECT 1 -- ; SELECT 2"},
		{"SELECT 1 /* ; SELECT 2 */", true, "SELECT 1 /* ; SELECT 2 */"},
		{"SELECT a-b FROM t", true, "SELECT a-b FROM t"},
		{"SELECT 4/2", true, "SELECT 4/2"},
		{"SELECT x'00ff'", true, "SELECT x'00ff'"},

		{"CREATE TABLE a(x); CREATE TABLE b(y);", false, ""},
		{"SELECT 1;SELECT 2", false, ""},
		{"SELECT 1;\v", false, ""}, // SQLite's tokenizer rejects \v
		{"SELECT 1; /* c */ SELECT 2", false, ""},
		{"CREATE TRIGGER tr AFTER INSERT ON a BEGIN DELETE FROM b; END", false, ""},
		{"", false, ""},
		{"   ", false, ""},
		{"-- only a comment", false, ""},
		{"/* only */", false, ""},
		{";", false, ""},
		{"; SELECT 1", false, ""},
		{"SELECT 'unterminated", false, ""},
		{`SELECT "unterminated`, false, ""},
		{"SELECT [unterminated", false, ""},
		{"SELECT 1 /* unterminated", false, ""},
	}
	for _, tc := range cases {
		end, ok := cacheable(tc.query)
		if ok != tc.ok {
			t.Errorf("cacheable(%q) ok = %v, want %v", tc.query, ok, tc.ok)
			continue
		}
		if ok && tc.query[:end] != tc.text {
			t.Errorf("cacheable(%q) text = %q, want %q", tc.query, tc.query[:end], tc.text)
		}
	}
}
