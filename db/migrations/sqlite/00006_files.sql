-- +goose Up
-- Uploaded files: one row per stored object (storage key), written as
-- 'pending' before the object and marked 'ready' once it is stored, so the
-- cleanup job can remove what a crash leaves half done. Deleting a user
-- deletes their rows; the cleanup job then removes the objects left without one.
CREATE TABLE trellis_files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    storage_key   TEXT NOT NULL UNIQUE,
    field         TEXT NOT NULL DEFAULT '',
    size          INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    original_name TEXT NOT NULL DEFAULT '',
    width         INTEGER NOT NULL DEFAULT 0,
    height        INTEGER NOT NULL DEFAULT 0,
    thumb_key     TEXT UNIQUE,
    status        TEXT NOT NULL DEFAULT 'pending',
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX trellis_files_owner ON trellis_files (owner_id);
CREATE INDEX trellis_files_status ON trellis_files (status, created_at);

-- +goose Down
DROP TABLE trellis_files;
