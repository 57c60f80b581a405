package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// backoff is an exponential retry policy with ±20% jitter and a cap: the
// n-th retry waits about base·2^(n-1), at most max.
type backoff struct {
	base, max time.Duration
}

// NextRetry implements river.ClientRetryPolicy.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(b.delay(len(job.Errors) + 1))
}

// delay is the wait before retry number n (1-based).
func (b *backoff) delay(n int) time.Duration {
	d := b.base
	for i := 1; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return max(d+jitter, time.Millisecond)
}
