-- +goose Up
CREATE TABLE trellis_job_counters (
    kind   TEXT NOT NULL,
    metric TEXT NOT NULL,
    n      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, metric)
) WITHOUT ROWID;
CREATE TABLE trellis_schedules (
    name      TEXT PRIMARY KEY,
    last_fire INTEGER NOT NULL
);

-- +goose Down
DROP TABLE trellis_schedules;
DROP TABLE trellis_job_counters;
