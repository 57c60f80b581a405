package mail

import (
	"strings"

	"golang.org/x/net/html"
)

// blockTags end a line of text before and after them.
var blockTags = map[string]bool{
	"p": true, "div": true, "br": true, "tr": true, "li": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "table": true, "ul": true, "ol": true, "hr": true,
	"blockquote": true, "pre": true, "section": true, "header": true, "footer": true,
}

// skipTags hold no readable text.
var skipTags = map[string]bool{"head": true, "title": true, "style": true, "script": true, "template": true}

// HTMLToText derives a plain-text part from an HTML mail: the readable
// text, one line per block, links written as "text (url)" so they stay
// usable, whitespace collapsed.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var (
		out   strings.Builder
		line  strings.Builder
		skip  int
		hrefs []string
	)
	flush := func() {
		if t := strings.Join(strings.Fields(line.String()), " "); t != "" {
			out.WriteString(t)
			out.WriteString("\n")
		}
		line.Reset()
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			flush()
			return strings.TrimRight(out.String(), "\n") + "\n"
		case html.TextToken:
			if skip == 0 {
				line.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if skipTags[tag] {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if tag == "a" {
				switch tt {
				case html.StartTagToken:
					href := ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = string(v)
						}
					}
					hrefs = append(hrefs, href)
				case html.EndTagToken:
					if n := len(hrefs); n > 0 {
						if href := hrefs[n-1]; href != "" && !strings.HasPrefix(href, "#") {
							line.WriteString(" (" + href + ")")
						}
						hrefs = hrefs[:n-1]
					}
				}
				continue
			}
			if blockTags[tag] {
				flush()
			}
		}
	}
}
