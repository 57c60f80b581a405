package demo_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/examples/demo"
	"github.com/trellis-go/trellis/trellistest"
)

// The demo's account pages recover accounts through the outbox: a new
// account's address is confirmed by its link, and a forgotten password is
// replaced through the reset link.
func TestDemoAccountRecovery(t *testing.T) {
	build := func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
		return demo.New(ctx, cfg, adminPassword, opts...)
	}
	app := trellistest.NewApp(t, build)
	res := app.PostForm("/register", url.Values{"email": {"dee@example.com"}, "password": {"dee password"}, "password_confirm": {"dee password"}})
	res.AssertRedirect("/")
	app.Get("/account").AssertContains("not confirmed")
	app.Get(trellistest.LinkIn(t, app.WaitForMail("dee@example.com"), "/email/verify/")).AssertStatus(http.StatusOK).AssertContains("is confirmed")
	app.SignOut()

	app.Get("/login").AssertContains(`href="/password/forgot"`)
	app.PostForm("/password/forgot", url.Values{"email": {"dee@example.com"}}).AssertStatus(http.StatusOK).AssertContains("Check your email")
	app.Get(trellistest.LinkIn(t, app.WaitForMail("dee@example.com"), "/password/reset/")).AssertRedirect("/password/reset")
	app.PostForm("/password/reset", url.Values{"password": {"new dee password"}, "password_confirm": {"new dee password"}}).AssertRedirect("/")
	app.Get("/account").AssertStatus(http.StatusOK).AssertContains("dee@example.com")
	app.AsNewVisitor().SignIn("dee@example.com", "new dee password")
}
