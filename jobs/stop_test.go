package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trellis-go/trellis/jobs"
)

// stubbornArgs jobs report their interruption in their own words.
type stubbornArgs struct{}

func (stubbornArgs) Kind() string { return "stubborn" }

// TestStopGivesBackTheAttemptWhateverTheError: a job cut off by Stop that
// returns an error not wrapping context.Canceled (as database drivers do)
// still goes back to the queue with no error and its attempt given back.
func TestStopGivesBackTheAttemptWhateverTheError(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, _ := newEngine(t, dialect)
		started := make(chan struct{}, 1)
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[stubbornArgs]) error {
			started <- struct{}{}
			<-ctx.Done()
			return fmt.Errorf("query: %w", errors.New("interrupted (9)"))
		})
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := e.Enqueue(ctx, stubbornArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		stopCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_ = e.Stop(stopCtx)
		d, err := e.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != jobs.StatusPending || d.Attempt != 0 || len(d.Errors) != 0 {
			t.Errorf("after Stop: %s, attempt %d, errors %+v; want pending, attempt 0, no error", d.Status, d.Attempt, d.Errors)
		}
	})
}
