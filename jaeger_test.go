package trellis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/telemetry"
	"github.com/trellis-go/trellis/trellistest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// jaegerConfig runs Jaeger v2 with in-memory storage, an OTLP/HTTP
// receiver and the query API on the given loopback addresses, and nothing
// else listening.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 1000
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// startJaeger builds Jaeger all-in-one from its own module in
// internal/tools/jaeger (kept out of the framework's go.mod: its
// dependency tree is huge; GOCACHE makes later builds quick) and runs it
// on free loopback ports. It returns the OTLP/HTTP endpoint and the query
// API's base URL. When it cannot be built or started the test skips, or
// fails under TRELLIS_REQUIRE_SERVICES=1.
func startJaeger(t *testing.T) (otlp, query string) {
	t.Helper()
	dir := t.TempDir()
	bin, err := buildJaeger()
	if err != nil {
		trellistest.Unavailable(t, "Jaeger (built from internal/tools/jaeger)", err)
		return "", ""
	}
	otlpAddr, queryAddr, grpcAddr := trellistest.FreeAddr(t), trellistest.FreeAddr(t), trellistest.FreeAddr(t)
	cfg := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, jaegerConfig, queryAddr, grpcAddr, otlpAddr), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config=file:"+cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		trellistest.Unavailable(t, "Jaeger", err)
		return "", ""
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("Jaeger's log:\n%s", logs.String())
		}
	})
	trellistest.WaitReady(t, "http://"+queryAddr+"/api/services", 60*time.Second)
	return "http://" + otlpAddr, "http://" + queryAddr
}

// buildJaeger builds Jaeger once per version of internal/tools/jaeger's
// go.sum, into the temporary directory: linking its 120 MB binary takes
// about a minute even with GOCACHE warm.
func buildJaeger() (string, error) {
	dir := filepath.Join("internal", "tools", "jaeger")
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("trellis-jaeger-%x", sha256.Sum256(sum))[:len("trellis-jaeger-")+16])
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	build := exec.Command("go", "build", "-o", tmp, "github.com/jaegertracing/jaeger/cmd/jaeger")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}

// jaegerTrace is the part of Jaeger's /api/traces/{id} answer the test reads.
type jaegerTrace struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			TraceID       string `json:"traceID"`
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

// TestTraceInJaeger: with telemetry.otlp_endpoint pointing at a real
// Jaeger over loopback, a request that enqueues a job produces one trace
// — request, enqueue, job run and the worker's own span — which Jaeger
// returns when asked for the trace's id.
func TestTraceInJaeger(t *testing.T) {
	// Building Jaeger from the module proxy takes about 10 CPU-minutes cold
	// and a minute to link warm: too much for every test run, so it is
	// asked for (TRELLIS_REQUIRE_SERVICES does not force it).
	if os.Getenv("TRELLIS_TEST_JAEGER") != "1" {
		t.Skip("set TRELLIS_TEST_JAEGER=1 to build Jaeger (internal/tools/jaeger) and find a trace in it over OTLP")
	}
	otlp, query := startJaeger(t)
	a := trellistest.NewApp(t, nil, trellistest.Configure(func(c *config.Config) {
		c.Telemetry = config.Telemetry{OTLPEndpoint: otlp, SampleRatio: 1, ServiceName: "trellis-e2e"}
	}))
	jobs.RegisterFunc(a.App.Jobs, func(ctx context.Context, j *jobs.Job[publishArgs]) error {
		_, span := telemetry.Start(ctx, "publish.render")
		span.End()
		return nil
	})
	a.App.Post("/notes/{id}/publish", func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.App.Jobs.Enqueue(r.Context(), publishArgs{Note: chi.URLParam(r, "id")}, nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	// The client starts the trace, so the test knows its id.
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	a.PostForm("/notes/7/publish", nil, trellistest.Header("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")).
		AssertStatus(http.StatusAccepted)

	tp, ok := a.App.TracerProvider.(*sdktrace.TracerProvider)
	if !ok {
		t.Fatalf("TracerProvider is %T, want the SDK's", a.App.TracerProvider)
	}
	want := []string{"POST /notes/{id}/publish", "enqueue publish", "job publish", "publish.render"}
	var got jaegerTrace
	deadline := time.Now().Add(30 * time.Second)
	for {
		_ = tp.ForceFlush(context.Background())
		got = jaegerTrace{}
		err := getJSON(query+"/api/traces/"+traceID, &got)
		if err == nil && len(got.Data) == 1 && hasOperations(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger never returned trace %s with spans %q: last answer %+v (error %v)", traceID, want, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	tr := got.Data[0]
	for _, s := range tr.Spans {
		if s.TraceID != traceID {
			t.Errorf("span %q in trace %s", s.OperationName, s.TraceID)
		}
		if svc := tr.Processes[s.ProcessID].ServiceName; svc != "trellis-e2e" {
			t.Errorf("span %q from service %q, want telemetry.service_name", s.OperationName, svc)
		}
	}
}

func hasOperations(tr jaegerTrace, want []string) bool {
	have := map[string]bool{}
	for _, s := range tr.Data[0].Spans {
		have[s.OperationName] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
