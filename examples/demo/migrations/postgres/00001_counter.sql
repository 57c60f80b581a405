-- +goose Up
CREATE TABLE demo_counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE demo_activity (
    id         BIGSERIAL PRIMARY KEY,
    message    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE demo_activity;
DROP TABLE demo_counters;
