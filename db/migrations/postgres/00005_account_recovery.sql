-- +goose Up
-- Single-use tokens mailed to users: password resets, address
-- verifications and address changes. Only the SHA-256 of a token is kept.
-- email is the address the link went to (for a change: the new address);
-- password_fingerprint ties a reset token to the password it may replace,
-- so any password change kills it.
CREATE TABLE user_tokens (
    id                   BIGSERIAL PRIMARY KEY,
    user_id              BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose              TEXT NOT NULL,
    token_hash           TEXT NOT NULL UNIQUE,
    email                TEXT NOT NULL,
    password_fingerprint TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);

-- +goose Down
DROP TABLE user_tokens;
