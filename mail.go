package trellis

import (
	"fmt"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/mail/outbox"
)

// setupMail builds the app's mailer on its database and job engine: mail
// goes over SMTP when mail.smtp_url is set, else into the outbox. Start
// starts its relay with the job engine.
// Production needs app.base_url for the links in mail.
func (a *App) setupMail() error {
	cfg := a.Config
	if err := cfg.RequireBaseURL(); err != nil {
		return err
	}
	m, err := mail.New(mail.Options{
		DB:         a.DB,
		Jobs:       a.Jobs,
		From:       cfg.MailFrom(),
		BaseURL:    cfg.BaseURL(),
		SMTPURL:    cfg.Mail.SMTPURL,
		CAFile:     cfg.Mail.CAFile,
		TLSConfig:  a.opts.mailTLS,
		OutboxKeep: cfg.Mail.OutboxKeep,
		Logger:     a.Logger,
	})
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.Mail = m
	// Registered after the job engine's, so it runs first at shutdown:
	// the relay stops enqueueing before the engine stops.
	a.OnShutdown(m.Stop)
	return nil
}

// mountMailOutbox mounts the outbox pages: in development for everyone
// (it is the developer's machine), elsewhere only with mail.outbox_ui and
// then for admins only.
func (a *App) mountMailOutbox() error {
	prefix, ok := a.opts.mountedAt(MailOutbox)
	dev := a.Config.Profile == config.Development
	if !ok || a.Mail == nil || (!dev && !a.Config.Mail.OutboxUI) {
		return nil
	}
	h, err := outbox.New(outbox.Options{Mailer: a.Mail, Render: a.Render, Logger: a.Logger, Prefix: prefix, Keep: a.Config.Mail.OutboxKeep})
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.Router.Group(func(r chi.Router) {
		if !dev {
			r.Use(a.Auth.RequireRole(auth.RoleAdmin))
		}
		h.Routes(r)
	})
	return nil
}
