package demo_test

import (
	"strings"
	"testing"

	"github.com/trellis-go/trellis/config"
)

// TestMailOutboxInDevelopment: in development the nav links the mail
// outbox and the previews render the demo's welcome mail, escaped; in
// other profiles neither is there.
func TestMailOutboxInDevelopment(t *testing.T) {
	dev := newDemo(t, false, func(c *config.Config) { c.Profile = config.Development })
	dev.Get("/").AssertStatus(200).AssertContains(`id="nav-mail"`).AssertContains(`href="/dev/mail"`)
	dev.Get("/dev/mail").AssertStatus(200).AssertContains("Mail outbox")
	p := dev.Get("/dev/mail/previews").AssertStatus(200).AssertContains("Welcome to the Trellis demo").AssertContains("src=\"/dev/mail/previews/welcome/html\"")
	p.AssertContains("Welcome, Ann &lt;Example&gt;!")
	dev.Get("/dev/mail/previews/welcome/html").AssertStatus(200).AssertContains("Welcome, Ann &lt;Example&gt;!").AssertContains("http://127.0.0.1:3000/notes")

	test := newDemo(t, false)
	if home := test.Get("/").AssertStatus(200); strings.Contains(home.Body, `id="nav-mail"`) {
		t.Error("the test profile links the outbox")
	}
	test.Get("/dev/mail/previews").AssertStatus(404)
}
