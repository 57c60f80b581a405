-- +goose Up
CREATE TABLE trellis_sessions (
    token  TEXT PRIMARY KEY,
    expiry BIGINT NOT NULL
);
CREATE INDEX trellis_sessions_expiry ON trellis_sessions (expiry);
CREATE TABLE trellis_session_values (
    token TEXT NOT NULL REFERENCES trellis_sessions (token) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (token, key)
);

CREATE TABLE users (
    id                BIGSERIAL PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    email_verified_at TIMESTAMPTZ,
    session_version   BIGINT NOT NULL DEFAULT 1,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE user_roles (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE trellis_session_values;
DROP TABLE trellis_sessions;
