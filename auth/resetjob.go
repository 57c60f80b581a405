package auth

import (
	"context"
	"fmt"

	"github.com/trellis-go/trellis/jobs"
)

// resetRequest is the job a forgot-password request enqueues: the request
// itself does the same work (one insert) for every address, and the job
// looks the address up, so the answer's timing says nothing about
// accounts.
type resetRequest struct {
	Email string `json:"email"`
}

// Kind names the job type.
func (resetRequest) Kind() string { return "trellis_password_reset" }

// requestReset enqueues the reset job, or without a job engine does its
// work at once.
func (a *Auth) requestReset(ctx context.Context, email string) error {
	if a.opts.Jobs == nil {
		return a.sendReset(ctx, email)
	}
	if _, err := a.opts.Jobs.Enqueue(ctx, resetRequest{Email: email}, nil); err != nil {
		return fmt.Errorf("auth: enqueueing password reset: %w", err)
	}
	return nil
}

// registerJobs registers auth's workers on e.
func (a *Auth) registerJobs(e *jobs.Engine) {
	jobs.RegisterFunc(e, func(ctx context.Context, job *jobs.Job[resetRequest]) error {
		return a.sendReset(ctx, job.Args.Email)
	})
}
