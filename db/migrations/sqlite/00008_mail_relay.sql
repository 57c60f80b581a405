-- +goose Up
-- Mail stored by Mailer.Send is put on the job queue by the mailer's
-- relay, after the request that sent it has committed: enqueued says
-- whether its delivery job exists (rows from before this migration have
-- one), trace carries the sender's trace context (JSON) to the job.
ALTER TABLE trellis_mail_queue ADD COLUMN enqueued INTEGER NOT NULL DEFAULT 1;
ALTER TABLE trellis_mail_queue ADD COLUMN trace TEXT NOT NULL DEFAULT '';
CREATE INDEX trellis_mail_queue_pending ON trellis_mail_queue (id) WHERE enqueued = 0;

-- +goose Down
DROP INDEX trellis_mail_queue_pending;
ALTER TABLE trellis_mail_queue DROP COLUMN trace;
ALTER TABLE trellis_mail_queue DROP COLUMN enqueued;
