-- xpflow schema version 1: campaigns, one row per asset instance, the
-- append-only journal of intents and outcomes, and the per-key windows.

CREATE TABLE xpflow_campaigns (
    name       text PRIMARY KEY,
    lineage    text NOT NULL,
    -- serial grows by one on every committed change to the campaign.
    serial     bigint NOT NULL DEFAULT 0,
    -- models: state.State.Models as JSON (by model id); balance likewise.
    models     json,
    balance    json,
    -- locked_by names the runner holding the campaign's writer lock
    -- (a session advisory lock) while an apply without claims runs.
    locked_by  json,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE xpflow_assets (
    campaign      text NOT NULL REFERENCES xpflow_campaigns (name) ON DELETE CASCADE,
    address       text NOT NULL,
    -- record: the state.Asset as JSON, exactly as xpflow wrote it (json, not
    -- jsonb, keeps its text and numbers as written). NULL while the asset is
    -- only planned: a row to claim, not yet part of the state.
    record        json,
    -- status mirrors record's status, or 'planned' when record is NULL.
    status        text NOT NULL,
    -- claimed_by is the runner working on the asset; its claim holds until
    -- lease_expires, and the runner renews it while it works.
    claimed_by    text,
    lease_expires timestamptz,
    serial        bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign, address)
);

CREATE TABLE xpflow_journal (
    id         bigserial PRIMARY KEY,
    campaign   text NOT NULL,
    address    text NOT NULL,
    -- event: intent, submitted, completed, failed or removed.
    event      text NOT NULL,
    runner     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    task_id    text,
    cost_cents integer,
    serial     bigint NOT NULL
);
CREATE INDEX xpflow_journal_campaign ON xpflow_journal (campaign, id);

CREATE TABLE xpflow_windows (
    -- key_hash: hex SHA-256 of base URL and API key; never the key.
    key_hash   text PRIMARY KEY,
    ledger     json NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
