-- Background schedules: one run per tick across replicas, and what the jobs record.

-- A tick is claimed by inserting its row: exactly one replica wins each (name, tick).
CREATE TABLE schedule_runs (
    name        text        NOT NULL,
    tick        timestamptz NOT NULL,
    replica     text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    outcome     text        NOT NULL DEFAULT '',
    summary     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (name, tick)
);

ALTER TABLE bookings ADD COLUMN breached_at timestamptz;      -- set once, when the due time passed with no arrival
ALTER TABLE bookings ADD COLUMN followup_sent_at timestamptz; -- set once, when the feedback request went out
CREATE INDEX bookings_followup_idx ON bookings (status) WHERE followup_sent_at IS NULL;

-- Daily KPI figures per group (group_by: all, tier, region, technician).
CREATE TABLE kpi_daily (
    day      date        NOT NULL,
    group_by text        NOT NULL,
    grp      text        NOT NULL,
    figures  jsonb       NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (day, group_by, grp)
);
