-- Gateway schema (PostgreSQL). Times are unix milliseconds (INTEGER), ids are TEXT (uuid or name).
-- Versions 0001-0999 belong to the gateway; Data Sources uses 1000+.

CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    webhook_token_hash TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL REFERENCES entities(id),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'support')),
    label TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_entity ON api_tokens(entity_id);

-- Credentials vault: one row per (entity, kind). Secret fields are one AES-256-GCM blob whose
-- associated data binds it to (entity_id, kind).
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL REFERENCES entities(id),
    kind TEXT NOT NULL,
    public_fields TEXT NOT NULL,
    secret_blob BYTEA NOT NULL,
    nonce BYTEA NOT NULL,
    key_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (entity_id, kind)
);

CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    actor_token_id TEXT,
    actor_entity_id TEXT,
    entity_id TEXT,
    impersonation BIGINT NOT NULL DEFAULT 0,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_log_entity ON audit_log(entity_id, seq);

-- Outbox: every accepted write, delivered in `seq` order per (entity, container).
-- status: queued | sending (in flight, internal) | sent | completed | failed.
CREATE TABLE operations (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL REFERENCES entities(id),
    kind TEXT NOT NULL,
    container_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    public_reference_id TEXT,
    error TEXT,
    notification_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at BIGINT,
    completed_at BIGINT
);
CREATE INDEX operations_due ON operations(status, next_attempt_at, seq);
CREATE INDEX operations_container ON operations(entity_id, container_key, seq);
CREATE INDEX operations_public_ref ON operations(public_reference_id);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL REFERENCES entities(id),
    dedup_key TEXT NOT NULL,
    public_reference_id TEXT,
    external_reference_id TEXT,
    event TEXT,
    type TEXT,
    equipment_number TEXT,
    release_id TEXT,
    stored_on BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    raw TEXT NOT NULL,
    UNIQUE (entity_id, dedup_key)
);
CREATE INDEX notifications_entity_stored ON notifications(entity_id, stored_on);
CREATE INDEX notifications_public_ref ON notifications(public_reference_id);
CREATE INDEX notifications_equipment ON notifications(entity_id, equipment_number);
