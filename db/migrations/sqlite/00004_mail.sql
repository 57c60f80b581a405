-- +goose Up
-- Mail waiting for its delivery job (trellis_mail). The job deletes the
-- row once the SMTP server has accepted the message, or moves it to the
-- outbox when mail.smtp_url is empty.
CREATE TABLE trellis_mail_queue (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    sender     TEXT NOT NULL,
    recipients TEXT NOT NULL,
    to_addrs   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    html       TEXT NOT NULL,
    text       TEXT NOT NULL,
    raw        BLOB NOT NULL
);

-- Mail stored instead of sent (development and tests), newest kept.
CREATE TABLE trellis_mail_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    sender     TEXT NOT NULL,
    recipients TEXT NOT NULL,
    to_addrs   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    html       TEXT NOT NULL,
    text       TEXT NOT NULL,
    raw        BLOB NOT NULL
);

-- +goose Down
DROP TABLE trellis_mail_outbox;
DROP TABLE trellis_mail_queue;
