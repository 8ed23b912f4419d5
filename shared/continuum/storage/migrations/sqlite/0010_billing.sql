-- Billing: per-tenant usage counters, each tenant's tier, and the Stripe events already
-- processed (webhook deliveries are idempotent by event id).
--
-- The counters are kept by triggers on `memories`, so they change in the same atomic write
-- as every insert, content/metadata change and delete, whichever code path wrote it (the
-- quota check reads one row per request instead of counting). Bytes are the stored
-- content and metadata (ciphertext when encryption is on).
CREATE TABLE tenant_usage (
    tenant_id     TEXT PRIMARY KEY,
    memories      INTEGER NOT NULL DEFAULT 0,
    storage_bytes INTEGER NOT NULL DEFAULT 0
);

INSERT INTO tenant_usage (tenant_id, memories, storage_bytes)
SELECT tenant_id, COUNT(*), COALESCE(SUM(length(CAST(content AS BLOB)) + length(CAST(metadata AS BLOB))), 0)
FROM memories GROUP BY tenant_id;

CREATE TRIGGER trg_usage_memory_insert AFTER INSERT ON memories
BEGIN
    INSERT INTO tenant_usage (tenant_id, memories, storage_bytes)
    VALUES (NEW.tenant_id, 1, length(CAST(NEW.content AS BLOB)) + length(CAST(NEW.metadata AS BLOB)))
    ON CONFLICT (tenant_id) DO UPDATE SET memories = memories + 1,
        storage_bytes = storage_bytes + excluded.storage_bytes;
END;

CREATE TRIGGER trg_usage_memory_delete AFTER DELETE ON memories
BEGIN
    UPDATE tenant_usage SET memories = memories - 1,
        storage_bytes = storage_bytes - length(CAST(OLD.content AS BLOB)) - length(CAST(OLD.metadata AS BLOB))
    WHERE tenant_id = OLD.tenant_id;
END;

CREATE TRIGGER trg_usage_memory_update AFTER UPDATE OF content, metadata ON memories
BEGIN
    UPDATE tenant_usage SET storage_bytes = storage_bytes
        + length(CAST(NEW.content AS BLOB)) + length(CAST(NEW.metadata AS BLOB))
        - length(CAST(OLD.content AS BLOB)) - length(CAST(OLD.metadata AS BLOB))
    WHERE tenant_id = NEW.tenant_id;
END;

CREATE TABLE tenant_billing (
    tenant_id       TEXT PRIMARY KEY,
    tier            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active',
    source          TEXT NOT NULL DEFAULT 'admin',
    customer_id     TEXT,
    subscription_id TEXT,
    changed_at      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE billing_events (
    event_id     TEXT PRIMARY KEY,
    tenant_id    TEXT,
    event_type   TEXT NOT NULL,
    claim        TEXT NOT NULL,
    processed_at TEXT NOT NULL
);
CREATE INDEX idx_billing_events_tenant ON billing_events (tenant_id);
