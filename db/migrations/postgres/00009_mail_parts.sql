-- +goose Up
-- Mail stored by Mailer.Send keeps its rendered parts and, in parts, the
-- rest of what makes the message (Cc, Bcc, Reply-To, extra headers,
-- attachments, Message-ID) as JSON; the delivery job builds the RFC 5322
-- bytes from them, so a request does not. raw is empty for such rows and
-- parts empty for rows stored before this migration, which carry raw.
ALTER TABLE trellis_mail_queue ADD COLUMN parts TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE trellis_mail_queue DROP COLUMN parts;
