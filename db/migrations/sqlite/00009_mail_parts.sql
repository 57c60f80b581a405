-- +goose Up
-- Mail stored by Mailer.Send keeps its rendered parts and, in parts, the
-- rest of what makes the message (Cc, Bcc, Reply-To, extra headers,
-- attachments, Message-ID) as JSON; the delivery job builds the RFC 5322
-- bytes from them, so a request does not. raw is empty for such rows and
-- parts empty for rows stored before this migration, which carry raw.
ALTER TABLE trellis_mail_queue ADD COLUMN parts TEXT NOT NULL DEFAULT '';
-- On SQLite ids are assigned in commit order, so the relay finds new mail
-- by id alone (id > the last it saw); the index cost every Send a page
-- write.
DROP INDEX trellis_mail_queue_pending;

-- +goose Down
CREATE INDEX trellis_mail_queue_pending ON trellis_mail_queue (id) WHERE enqueued = 0;
ALTER TABLE trellis_mail_queue DROP COLUMN parts;
