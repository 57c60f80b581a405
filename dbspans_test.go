package trellis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// plantedSecret is an argument value that must never reach a span.
const plantedSecret = "sk_live_9f8e7d6c5b4a-do-not-trace"

// dbSpans returns the database spans (otelsql's, named sql.*) in spans.
func dbSpans(spans tracetest.SpanStubs) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "sql.") {
			out = append(out, s)
		}
	}
	return out
}

// driverPackage is the package of the driver behind db.
func driverPackage(d any) string {
	t := reflect.TypeOf(d)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// TestDatabaseSpans: a signed-in request to a page that reads the
// database in and out of a transaction produces database spans — the
// framework's own session and user queries and the page's — whose
// parent is the request span, with db.system and the statement, and with
// no argument value (neither a planted secret nor the session token) in
// any attribute or event. Database work with no trace around it (River
// polling, migrations, janitors) makes no spans at all.
func TestDatabaseSpans(t *testing.T) {
	for _, b := range []trellistest.Backend{trellistest.SQLite, trellistest.Postgres} {
		t.Run(string(b), func(t *testing.T) {
			system := map[trellistest.Backend]string{trellistest.SQLite: "sqlite", trellistest.Postgres: "postgresql"}[b]
			a, exp := tracedApp(t, b, false, trellistest.Configure(func(c *config.Config) {
				c.Jobs.PollInterval = 20 * time.Millisecond
				c.Jobs.FetchCooldown = 10 * time.Millisecond
			}))
			if pkg := driverPackage(a.App.DB.SQL.Driver()); pkg != "github.com/XSAM/otelsql" {
				t.Fatalf("with tracing on the driver is %s, want it wrapped by otelsql", pkg)
			}
			a.App.Get("/vault/{id}", func(w http.ResponseWriter, r *http.Request) {
				d := a.App.DB
				var n int
				if err := d.SQL.QueryRowContext(r.Context(), d.Rebind(`SELECT count(*) FROM users WHERE email = ?`), plantedSecret).Scan(&n); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				tx, err := d.SQL.BeginTx(r.Context(), nil)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				defer func() { _ = tx.Rollback() }()
				if _, err := tx.ExecContext(r.Context(), d.Rebind(`UPDATE users SET display_name = ? WHERE email = ?`), chi.URLParam(r, "id"), plantedSecret); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				if err := tx.Commit(); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				fmt.Fprintf(w, "%d", n)
			})
			a.CreateUser("ann@example.com", "correct horse battery")
			a.SignIn("ann@example.com", "correct horse battery")
			var token string
			for _, c := range a.Client.Jar.Cookies(must(url.Parse(a.Server.URL))) {
				if c.Name == a.App.Config.Session.CookieName {
					token = c.Value
				}
			}
			if token == "" {
				t.Fatal("no session cookie after signing in")
			}
			exp.Reset()
			a.Get("/vault/7").AssertStatus(http.StatusOK)
			req := spanNamed(t, exp, "GET /vault/{id}")
			// Leave River time to poll for jobs many times over.
			time.Sleep(300 * time.Millisecond)

			var statements []string
			names := map[string]bool{}
			for _, s := range dbSpans(exp.GetSpans()) {
				if !s.Parent.IsValid() {
					t.Errorf("database span %q (%s) has no parent: work outside a trace must not start one", s.Name, attr(s, "db.query.text").AsString())
					continue
				}
				if s.SpanContext.TraceID() != req.SpanContext.TraceID() {
					continue
				}
				if s.Parent.SpanID() != req.SpanContext.SpanID() {
					t.Errorf("database span %q has parent %s, want the request span %s", s.Name, s.Parent.SpanID(), req.SpanContext.SpanID())
				}
				if got := attr(s, "db.system").AsString(); got != system {
					t.Errorf("span %q: db.system %q, want %q", s.Name, got, system)
				}
				names[s.Name] = true
				if q := attr(s, "db.query.text").AsString(); q != "" {
					statements = append(statements, q)
				}
			}
			t.Logf("%d database statements under the request, span kinds %v", len(statements), names)
			all := strings.Join(statements, "\n")
			for _, want := range []string{"trellis_sessions", "FROM users WHERE email =", "UPDATE users SET display_name ="} {
				if !strings.Contains(all, want) {
					t.Errorf("no database span under the request has a statement with %q; statements:\n%s", want, all)
				}
			}
			for _, want := range []string{"sql.conn.query", "sql.conn.begin_tx", "sql.conn.exec", "sql.tx.commit"} {
				if !names[want] {
					t.Errorf("no %s span under the request; have %v", want, names)
				}
			}
			for _, s := range exp.GetSpans() {
				for _, kv := range s.Attributes {
					v := kv.Value.Emit()
					if strings.Contains(v, plantedSecret) || strings.Contains(v, token) {
						t.Errorf("span %q attribute %s holds an argument value: %q", s.Name, kv.Key, v)
					}
				}
				for _, e := range s.Events {
					for _, kv := range e.Attributes {
						if v := kv.Value.Emit(); strings.Contains(v, plantedSecret) || strings.Contains(v, token) {
							t.Errorf("span %q event %q attribute %s holds an argument value: %q", s.Name, e.Name, kv.Key, v)
						}
					}
				}
			}
		})
	}
}

// TestDatabaseUntracedWhenTelemetryOff: with tracing off the app's
// database handle runs on the bare driver, not on a wrapper that would
// cost something on every query.
func TestDatabaseUntracedWhenTelemetryOff(t *testing.T) {
	for _, b := range []trellistest.Backend{trellistest.SQLite, trellistest.Postgres} {
		t.Run(string(b), func(t *testing.T) {
			a := trellistest.NewApp(t, nil, trellistest.OnBackend(b))
			a.Get("/health/ready").AssertStatus(http.StatusOK)
			if pkg := driverPackage(a.App.DB.SQL.Driver()); strings.Contains(pkg, "otelsql") {
				t.Errorf("with telemetry off the driver is %s, want the bare driver", pkg)
			}
		})
	}
}

// lookupArgs is the job of TestDatabaseSpansInJob.
type lookupArgs struct {
	Email string `json:"email"`
}

func (lookupArgs) Kind() string { return "lookup" }

// TestDatabaseSpansInJob: a job worker's queries, run with the job's
// context, are spans under the job's span, in the request's trace.
func TestDatabaseSpansInJob(t *testing.T) {
	a, exp := tracedApp(t, trellistest.SQLite, false)
	jobs.RegisterFunc(a.App.Jobs, func(ctx context.Context, j *jobs.Job[lookupArgs]) error {
		var n int
		return a.App.DB.SQL.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = ? -- lookup job`, j.Args.Email).Scan(&n)
	})
	a.App.Post("/lookup", func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.App.Jobs.Enqueue(r.Context(), lookupArgs{Email: plantedSecret}, nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	a.PostForm("/lookup", nil).AssertStatus(http.StatusAccepted)
	req := spanNamed(t, exp, "POST /lookup")
	run := spanNamed(t, exp, "job lookup")
	var found bool
	for deadline := time.Now().Add(10 * time.Second); !found && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, s := range dbSpans(exp.GetSpans()) {
			if strings.Contains(attr(s, "db.query.text").AsString(), "-- lookup job") {
				found = true
				if s.Parent.SpanID() != run.SpanContext.SpanID() || s.SpanContext.TraceID() != req.SpanContext.TraceID() {
					t.Errorf("the job's query span has parent %s in trace %s, want the job span %s in the request's trace %s",
						s.Parent.SpanID(), s.SpanContext.TraceID(), run.SpanContext.SpanID(), req.SpanContext.TraceID())
				}
			}
		}
	}
	if !found {
		t.Fatal("no span for the job's query")
	}
}
