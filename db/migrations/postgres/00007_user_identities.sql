-- +goose Up
-- Accounts at sign-in providers (OpenID Connect issuers, GitHub) linked to
-- users: one identity per provider and subject, and per user and provider.
-- A user signed up through a provider has an empty password_hash.
CREATE TABLE user_identities (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    email        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    UNIQUE (provider, subject),
    UNIQUE (user_id, provider)
);

-- +goose Down
DROP TABLE user_identities;
