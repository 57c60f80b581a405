package jobs_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/trellis-go/trellis/jobs"
)

// TestTimeline: the bucketed query counts completed jobs and failed
// attempts in the bucket they happened in, and its p95 is the
// nearest-rank percentile of the run times River recorded, on both
// databases.
func TestTimeline(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			e, _ := newEngine(t, dialect)
			jobs.RegisterFunc(e, func(_ context.Context, j *jobs.Job[noteArgs]) error {
				time.Sleep(time.Duration(j.Args.N) * time.Millisecond)
				return nil
			})
			jobs.RegisterFunc(e, func(context.Context, *jobs.Job[failArgs]) error { return errors.New("broken") })
			ctx := context.Background()
			if err := e.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for i := 1; i <= 20; i++ {
				r, err := e.Enqueue(ctx, noteArgs{N: i * 3}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			if _, err := e.Enqueue(ctx, failArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(1)}); err != nil {
				t.Fatal(err)
			}
			var tl *jobs.Timeline
			waitFor(t, "20 completed jobs and 2 failed attempts in the timeline", func() bool {
				var err error
				if tl, err = e.Timeline(ctx, time.Hour, 60); err != nil {
					t.Fatal(err)
				}
				var c, f int64
				for _, b := range tl.Buckets {
					c += b.Completed
					f += b.Failed
				}
				return c == 20 && f == 2
			})
			if len(tl.Buckets) != 60 || tl.Width != time.Minute || !tl.Buckets[59].Start.Add(time.Minute).After(time.Now()) {
				t.Fatalf("timeline shape: %d buckets of %v, last starting %v", len(tl.Buckets), tl.Width, tl.Buckets[59].Start)
			}
			// The expected p95 per bucket, from the jobs' own timestamps.
			runs := map[int][]float64{}
			for _, id := range ids {
				d, err := e.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				i := int(d.FinalizedAt.Sub(tl.Since) / tl.Width)
				runs[i] = append(runs[i], float64(d.FinalizedAt.Sub(*d.AttemptedAt).Microseconds())/1000)
			}
			for i, b := range tl.Buckets {
				v := runs[i]
				if int64(len(v)) != b.Completed {
					t.Errorf("bucket %d: %d completed, want %d", i, b.Completed, len(v))
				}
				want := 0.0
				if len(v) > 0 {
					slices.Sort(v)
					want = v[int(math.Ceil(0.95*float64(len(v))))-1]
				}
				if math.Abs(b.P95-want) > 1.5 {
					t.Errorf("bucket %d: p95 %.2f ms, want %.2f", i, b.P95, want)
				}
			}
			if _, err := e.Timeline(ctx, time.Hour, 0); !errors.Is(err, jobs.ErrBadWindow) {
				t.Errorf("0 buckets: %v, want ErrBadWindow", err)
			}
		})
	}
}
