-- Data Sources (postgres): the model carries what the seed lists (issue 14), and the documented
-- channels (T-Mining webhooks, EDIFACT intake) with their quarantine. Times are unix milliseconds.

-- Location split into yard position and quay (rows written before keep their single location),
-- full/empty, actual/estimated/observed times, documents (JSON array of {kind, number}).
ALTER TABLE ds_events ADD COLUMN yard_position TEXT;
ALTER TABLE ds_events ADD COLUMN quay TEXT;
ALTER TABLE ds_events ADD COLUMN full_empty TEXT;
ALTER TABLE ds_events ADD COLUMN time_kind TEXT NOT NULL DEFAULT 'actual';
ALTER TABLE ds_events ADD COLUMN documents TEXT;
-- No index of its own for the per-terminal container list: ds_events_container (entity,
-- equipment, time) serves it, and one more index in random order slows bulk syncs.

-- Webhook receiver of a connection: a random id in the URL (the secret is in the vault), and a
-- lease of its own so the drain of received webhooks never runs twice at once.
ALTER TABLE ds_connections ADD COLUMN webhook_id TEXT;
ALTER TABLE ds_connections ADD COLUMN hook_lease_owner TEXT;
ALTER TABLE ds_connections ADD COLUMN hook_lease_until BIGINT;
CREATE UNIQUE INDEX ds_connections_webhook ON ds_connections(webhook_id);

-- Received webhooks, one row per release: a burst of events about one release is one fetch.
-- received counts deliveries; the drain clears pending only if no delivery came in meanwhile.
CREATE TABLE ds_webhook_inbox (
    entity_id TEXT NOT NULL,
    terminal TEXT NOT NULL,
    release_ref TEXT NOT NULL,
    last_event TEXT NOT NULL,
    received BIGINT NOT NULL,
    pending BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT,
    PRIMARY KEY (entity_id, terminal, release_ref)
);
CREATE INDEX ds_webhook_inbox_pending ON ds_webhook_inbox(entity_id, terminal, pending, received_at);

-- Messages refused by an intake (bad segment count, unknown qualifier, wrong check digit, ...):
-- kept verbatim with the reason, never silently dropped.
CREATE TABLE ds_quarantine (
    id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL,
    terminal TEXT NOT NULL,
    sync_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    message_ref TEXT,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX ds_quarantine_connection ON ds_quarantine(entity_id, terminal, received_at);

-- Sync history: how many messages an intake run quarantined.
ALTER TABLE ds_syncs ADD COLUMN quarantined BIGINT NOT NULL DEFAULT 0;
