-- +goose Up
-- The demo's uses of uploaded files (trellis_files): one avatar per user
-- and attachments on notes. Deleting the file's row deletes the link.
CREATE TABLE demo_avatars (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    file_id BIGINT NOT NULL REFERENCES trellis_files (id) ON DELETE CASCADE
);
CREATE TABLE demo_note_files (
    note_id BIGINT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    file_id BIGINT NOT NULL REFERENCES trellis_files (id) ON DELETE CASCADE,
    PRIMARY KEY (note_id, file_id)
);

-- +goose Down
DROP TABLE demo_note_files;
DROP TABLE demo_avatars;
