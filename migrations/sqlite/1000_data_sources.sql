-- Data Sources (sqlite). Versions 1000-1999 belong to Data Sources. Times are unix milliseconds.
-- Secrets are NOT here: they live in the gateway's credentials vault (kind 'datasource:<terminal>').

-- One connection per (entity, terminal). identifier_key (lower-cased identifier) is unique per
-- terminal so one terminal account cannot be connected under two entities.
CREATE TABLE ds_connections (
    entity_id TEXT NOT NULL REFERENCES entities(id),
    terminal TEXT NOT NULL,
    identifier TEXT NOT NULL,
    identifier_key TEXT NOT NULL,
    -- verifying | connected | error
    state TEXT NOT NULL,
    error_code TEXT,
    error_message TEXT,
    warning_code TEXT,
    warning_message TEXT,
    -- bumped on every save: a verification of older credentials does not overwrite the state
    generation INTEGER NOT NULL,
    connected_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    verified_at INTEGER,
    cursor TEXT,
    next_sync_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    -- sync lease: no two syncs of one connection at once, across processes
    lease_owner TEXT,
    lease_until INTEGER,
    last_sync_at INTEGER,
    PRIMARY KEY (entity_id, terminal),
    UNIQUE (terminal, identifier_key)
);
CREATE INDEX ds_connections_due ON ds_connections(next_sync_at);

-- Normalized container events, stored once per entity (dedup_key is stable per terminal event).
-- Kept when a connection is deleted (history stays).
CREATE TABLE ds_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    terminal TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    equipment_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    source_event_id TEXT NOT NULL,
    location TEXT,
    vessel TEXT,
    status TEXT,
    stored_at INTEGER NOT NULL,
    UNIQUE (entity_id, dedup_key)
);
CREATE INDEX ds_events_container ON ds_events(entity_id, equipment_number, occurred_at);

-- Sync history per connection (kept when the connection is deleted).
CREATE TABLE ds_syncs (
    id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL,
    terminal TEXT NOT NULL,
    -- schedule | manual
    trigger_kind TEXT NOT NULL,
    -- running | succeeded | failed | cancelled
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    pages INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT
);
CREATE INDEX ds_syncs_connection ON ds_syncs(entity_id, terminal, started_at);
