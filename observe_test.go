package trellis_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/smtptest"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/telemetry"
	"github.com/trellis-go/trellis/trellistest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// publishArgs is the job the traced route enqueues.
type publishArgs struct {
	Note string `json:"note"`
}

func (publishArgs) Kind() string { return "publish" }

// tracedApp builds an app whose spans land in an in-memory exporter, with
// a route that enqueues a job (inside the request's transaction when tx
// is set) and a worker that adds a span of its own with telemetry.Start.
func tracedApp(t *testing.T, b trellistest.Backend, tx bool, opts ...trellistest.AppOption) (*trellistest.App, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp)))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	opts = append([]trellistest.AppOption{trellistest.OnBackend(b), trellistest.Options(trellis.WithTracerProvider(tp))}, opts...)
	a := trellistest.NewApp(t, nil, opts...)
	jobs.RegisterFunc(a.App.Jobs, func(ctx context.Context, j *jobs.Job[publishArgs]) error {
		_, span := telemetry.Start(ctx, "publish.render", attribute.String("note", j.Args.Note))
		span.End()
		return nil
	})
	a.App.Post("/notes/{id}/publish", func(w http.ResponseWriter, r *http.Request) {
		args := publishArgs{Note: chi.URLParam(r, "id")}
		var err error
		if tx {
			var sqlTx = must(a.App.DB.SQL.BeginTx(r.Context(), nil))
			if _, err = a.App.Jobs.EnqueueTx(r.Context(), sqlTx, args, nil); err == nil {
				err = sqlTx.Commit()
			} else {
				_ = sqlTx.Rollback()
			}
		} else {
			_, err = a.App.Jobs.Enqueue(r.Context(), args, nil)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	a.App.Get("/boom", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	return a, exp
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// spanNamed waits until exp holds a span named name and returns it.
func spanNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range exp.GetSpans() {
			if s.Name == name {
				return s
			}
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range exp.GetSpans() {
				names = append(names, s.Name)
			}
			t.Fatalf("no span named %q; have %q", name, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func attr(s tracetest.SpanStub, key string) attribute.Value {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestTraceSpansRequestEnqueueAndJob: one trace holds the request's span
// (named by its route pattern), the enqueue span under it, the job's run
// under that (its context carried in the job's metadata through the
// database), and a span the worker added with one telemetry.Start call.
func TestTraceSpansRequestEnqueueAndJob(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		for _, tx := range []bool{false, true} {
			t.Run(fmt.Sprintf("tx=%v", tx), func(t *testing.T) {
				a, exp := tracedApp(t, b, tx)
				a.PostForm("/notes/42/publish", nil).AssertStatus(http.StatusAccepted)

				req := spanNamed(t, exp, "POST /notes/{id}/publish")
				enq := spanNamed(t, exp, "enqueue publish")
				run := spanNamed(t, exp, "job publish")
				step := spanNamed(t, exp, "publish.render")

				if req.SpanKind != trace.SpanKindServer || attr(req, "http.route").AsString() != "/notes/{id}/publish" ||
					attr(req, "http.response.status_code").AsInt64() != http.StatusAccepted {
					t.Errorf("request span: kind %v, attributes %v", req.SpanKind, req.Attributes)
				}
				id := req.SpanContext.TraceID()
				for _, s := range []tracetest.SpanStub{enq, run, step} {
					if s.SpanContext.TraceID() != id {
						t.Errorf("span %q is in trace %s, want the request's %s", s.Name, s.SpanContext.TraceID(), id)
					}
				}
				if enq.Parent.SpanID() != req.SpanContext.SpanID() {
					t.Errorf("enqueue span's parent is %s, want the request span %s", enq.Parent.SpanID(), req.SpanContext.SpanID())
				}
				if run.Parent.SpanID() != enq.SpanContext.SpanID() || !run.Parent.IsRemote() {
					t.Errorf("job span's parent is %s (remote %v), want the enqueue span %s carried through the job's metadata",
						run.Parent.SpanID(), run.Parent.IsRemote(), enq.SpanContext.SpanID())
				}
				if step.Parent.SpanID() != run.SpanContext.SpanID() {
					t.Errorf("worker's span's parent is %s, want the job span", step.Parent.SpanID())
				}
				if attr(run, "job.kind").AsString() != "publish" || attr(run, "job.attempt").AsInt64() != 1 ||
					attr(run, "job.outcome").AsString() != "completed" || run.SpanKind != trace.SpanKindConsumer {
					t.Errorf("job span attributes: %v", run.Attributes)
				}
				if attr(enq, "job.id").AsInt64() != attr(run, "job.id").AsInt64() || attr(run, "job.id").AsInt64() == 0 {
					t.Errorf("enqueue span's job.id %v, job span's %v", attr(enq, "job.id"), attr(run, "job.id"))
				}
			})
		}
	})
}

// TestTraceSpanNames: unknown paths share one span name and 5xx answers
// mark the span failed; a trace context the caller sends is continued.
func TestTraceSpanNames(t *testing.T) {
	a, exp := tracedApp(t, trellistest.SQLite, false)
	a.Get("/no/such/page/1").AssertStatus(http.StatusNotFound)
	a.Get("/no/such/page/2").AssertStatus(http.StatusNotFound)
	a.Get("/boom").AssertStatus(http.StatusInternalServerError)
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	a.Get("/health/live", trellistest.Header("traceparent", parent)).AssertStatus(http.StatusOK)

	n := 0
	for _, s := range exp.GetSpans() {
		if strings.Contains(s.Name, "/no/such") {
			t.Errorf("span named by the raw path: %q", s.Name)
		}
		if s.Name == "GET unmatched" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d spans named %q, want 2", n, "GET unmatched")
	}
	if s := spanNamed(t, exp, "GET /boom"); s.Status.Code != codes.Error {
		t.Errorf("500 span status %v, want Error", s.Status)
	}
	live := spanNamed(t, exp, "GET /health/live")
	if live.SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || live.Parent.SpanID().String() != "b7ad6b7169203331" {
		t.Errorf("incoming trace context not continued: trace %s parent %s", live.SpanContext.TraceID(), live.Parent.SpanID())
	}
}

// TestTracingOffByDefault: without an endpoint the app has no tracer
// provider, and jobs run untraced.
func TestTracingOffByDefault(t *testing.T) {
	a := trellistest.NewApp(t, nil)
	if a.App.TracerProvider != nil {
		t.Fatalf("TracerProvider = %T, want nil with telemetry.otlp_endpoint empty", a.App.TracerProvider)
	}
	a.Get("/health/live").AssertStatus(http.StatusOK)
}

// TestTelemetryConfigStopsStartup: a malformed endpoint stops New with
// the key and the fix.
func TestTelemetryConfigStopsStartup(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Telemetry.OTLPEndpoint = "collector:4318"
	_, err := trellis.New(context.Background(), cfg, trellis.WithoutDatabase())
	if err == nil || !strings.Contains(err.Error(), "telemetry.otlp_endpoint") || !strings.Contains(err.Error(), "http://127.0.0.1:4318") {
		t.Fatalf("got %v, want an error naming telemetry.otlp_endpoint and the fix", err)
	}
}

// TestTraceRequestToMail follows one trace from a request that sends a
// mail, through the delivery job, to the SMTP delivery itself.
func TestTraceRequestToMail(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a, exp := tracedApp(t, trellistest.SQLite, false, trellistest.Configure(func(c *config.Config) {
		c.Mail.SMTPURL = "smtp://" + srv.Addr + "?tls=none"
	}))
	a.App.Post("/welcome", func(w http.ResponseWriter, r *http.Request) {
		if err := a.App.Mail.Send(r.Context(), mail.Message{To: []string{"ann@example.com"}, Subject: "Welcome", Text: textPart("hello")}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	a.PostForm("/welcome", nil).AssertStatus(http.StatusAccepted)

	var deliver tracetest.SpanStub
	for deadline := time.Now().Add(10 * time.Second); deliver.Name == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, s := range exp.GetSpans() {
			if s.Name == "mail.deliver" {
				deliver = s
			}
		}
	}
	req := spanNamed(t, exp, "POST /welcome")
	run := spanNamed(t, exp, "job "+mail.JobKind)
	if deliver.SpanContext.TraceID() != req.SpanContext.TraceID() || run.SpanContext.TraceID() != req.SpanContext.TraceID() {
		t.Fatalf("the delivery (%q, trace %s) and its job (trace %s) are not in the request's trace %s",
			deliver.Name, deliver.SpanContext.TraceID(), run.SpanContext.TraceID(), req.SpanContext.TraceID())
	}
	if deliver.Parent.SpanID() != run.SpanContext.SpanID() {
		t.Errorf("mail.deliver's parent is %s, want the job span", deliver.Parent.SpanID())
	}
	if attr(deliver, "smtp.host").AsString() != "127.0.0.1" || attr(deliver, "mail.recipients").AsInt64() != 1 {
		t.Errorf("mail.deliver attributes: %v", deliver.Attributes)
	}
}
