-- +goose Up
-- Browsers that have signed in to an account (OWASP's device cookies): a
-- known device is not subject to the account's lockout-prone limit.
CREATE TABLE user_devices (
    token_hash TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (token_hash, user_id)
) WITHOUT ROWID;
CREATE INDEX user_devices_user ON user_devices (user_id);

-- +goose Down
DROP TABLE user_devices;
