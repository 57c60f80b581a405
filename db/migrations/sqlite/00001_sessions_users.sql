-- +goose Up
CREATE TABLE trellis_sessions (
    token  TEXT PRIMARY KEY,
    expiry INTEGER NOT NULL
);
CREATE INDEX trellis_sessions_expiry ON trellis_sessions (expiry);
CREATE TABLE trellis_session_values (
    token TEXT NOT NULL REFERENCES trellis_sessions (token) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (token, key)
) WITHOUT ROWID;

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    email             TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    email_verified_at TIMESTAMP,
    session_version   INTEGER NOT NULL DEFAULT 1,
    created_at        TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE user_roles (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_used_at TIMESTAMP,
    expires_at   TIMESTAMP
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE trellis_session_values;
DROP TABLE trellis_sessions;
