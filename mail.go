package trellis

import (
	"fmt"

	"github.com/trellis-go/trellis/mail"
)

// setupMail builds the app's mailer on its database and job engine: mail
// goes over SMTP when mail.smtp_url is set, else into the outbox.
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
	return nil
}
