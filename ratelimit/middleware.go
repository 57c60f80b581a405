package ratelimit

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/felixge/httpsnoop"
)

// KeyFunc derives the rate-limit key for a request, such as the client's
// IP address (behind a proxy, the one package middleware's ClientIP finds,
// not r.RemoteAddr) or the signed-in user's id; returning "" skips
// limiting.
type KeyFunc func(r *http.Request) string

// Rule is one limit applied to requests. Name must be unique among the
// rules of one Middleware and must not contain ':'.
type Rule struct {
	Name string
	Rate Rate
	Key  KeyFunc
}

// Middleware enforces rules in order. For each rule whose Key returns a
// non-empty key, it asks l about the key Name+":"+key, so that rules never
// share buckets even when their keys coincide.
//
// The first rule that denies ends the request: its headers are set with
// [SetHeaders] and onDenied answers (nil means a plain 429 Too Many
// Requests). Rules after it are not consulted; rules before it have already
// counted the request. When every rule allows, the headers of the most
// restrictive one — the lowest Remaining, the first on a tie — are set and
// the next handler runs.
//
// When l fails (say Redis is down) onError decides between failing closed
// and failing open. If onError writes a response (calls WriteHeader or
// Write), the request ends there: failing closed, typically with 503. If it
// writes nothing — only logs, for instance — the failed rule is skipped and
// the request goes on: failing open. A nil onError fails open silently.
//
// Middleware panics when l is nil or a rule is invalid: a bad Rate, a nil
// Key, an empty or duplicate Name, or one containing ':'.
func Middleware(l Limiter, onDenied func(w http.ResponseWriter, r *http.Request, res Result), onError func(w http.ResponseWriter, r *http.Request, err error), rules ...Rule) func(http.Handler) http.Handler {
	if l == nil {
		panic("ratelimit: Middleware needs a Limiter")
	}
	if onDenied == nil {
		onDenied = func(w http.ResponseWriter, _ *http.Request, _ Result) {
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		}
	}
	prefixes := make([]string, len(rules))
	seen := make(map[string]bool, len(rules))
	for i, rule := range rules {
		switch {
		case rule.Name == "":
			panic("ratelimit: a Rule needs a Name")
		case strings.Contains(rule.Name, ":"):
			panic(fmt.Sprintf("ratelimit: rule name %q contains ':'", rule.Name))
		case seen[rule.Name]:
			panic(fmt.Sprintf("ratelimit: two rules are named %q", rule.Name))
		case rule.Key == nil:
			panic(fmt.Sprintf("ratelimit: rule %q has no Key", rule.Name))
		}
		if _, _, err := rule.Rate.params(); err != nil {
			panic(fmt.Sprintf("ratelimit: rule %q: invalid rate %v: %v", rule.Name, rule.Rate, err))
		}
		seen[rule.Name] = true
		prefixes[i] = rule.Name + ":"
	}
	rules = append([]Rule(nil), rules...)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			best := -1
			var bestRes Result
			for i := range rules {
				key := rules[i].Key(r)
				if key == "" {
					continue
				}
				res, err := l.Allow(r.Context(), prefixes[i]+key, rules[i].Rate)
				if err != nil {
					if onError == nil {
						continue
					}
					var wrote bool
					onError(trackWrites(w, &wrote), r, err)
					if wrote {
						return
					}
					continue
				}
				if !res.Allowed {
					SetHeaders(w.Header(), rules[i].Rate, res)
					onDenied(w, r, res)
					return
				}
				if best < 0 || res.Remaining < bestRes.Remaining {
					best, bestRes = i, res
				}
			}
			if best >= 0 {
				SetHeaders(w.Header(), rules[best].Rate, bestRes)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// trackWrites returns w wrapped so that *wrote becomes true once anything
// answers the request (WriteHeader, Write, WriteString, ReadFrom, Flush).
func trackWrites(w http.ResponseWriter, wrote *bool) http.ResponseWriter {
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) { *wrote = true; next(code) }
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(b []byte) (int, error) { *wrote = true; return next(b) }
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) { *wrote = true; return next(s) }
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) { *wrote = true; return next(src) }
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() { *wrote = true; next() }
		},
	})
}

// SetHeaders writes the rate-limit headers of the IETF httpapi draft for
// one rule's result:
//
//	RateLimit-Limit      rate.Limit
//	RateLimit-Remaining  res.Remaining
//	RateLimit-Reset      res.ResetAfter in seconds, rounded up
//	RateLimit-Policy     "10;w=60": Limit and Period in seconds (rounded
//	                     up), plus ";burst=20" when Burst is set and differs
//	                     from Limit
//	Retry-After          res.RetryAfter in seconds, rounded up; only when
//	                     !res.Allowed
func SetHeaders(h http.Header, rate Rate, res Result) {
	h.Set(headerLimit, strconv.Itoa(rate.Limit))
	h.Set(headerRemaining, strconv.Itoa(max(res.Remaining, 0)))
	h.Set(headerReset, strconv.FormatInt(ceilSeconds(res.ResetAfter), 10))
	policy := strconv.Itoa(rate.Limit) + ";w=" + strconv.FormatInt(ceilSeconds(rate.Period), 10)
	if rate.Burst != 0 && rate.Burst != rate.Limit {
		policy += ";burst=" + strconv.Itoa(rate.Burst)
	}
	h.Set(headerPolicy, policy)
	if !res.Allowed {
		h.Set(headerRetryAfter, strconv.FormatInt(ceilSeconds(res.RetryAfter), 10))
	}
}

// The header names in Go's canonical form, which spares Header.Set from
// allocating a canonical copy on every call. On the wire header names are
// case-insensitive.
const (
	headerLimit      = "Ratelimit-Limit"
	headerRemaining  = "Ratelimit-Remaining"
	headerReset      = "Ratelimit-Reset"
	headerPolicy     = "Ratelimit-Policy"
	headerRetryAfter = "Retry-After"
)

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
