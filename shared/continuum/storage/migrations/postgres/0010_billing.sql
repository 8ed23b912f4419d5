-- Billing: per-tenant usage counters, each tenant's tier, and the Stripe events already
-- processed (webhook deliveries are idempotent by event id).
--
-- The counters are kept by statement-level triggers on `memories` (one update per
-- statement and tenant, however many rows it touched), in the same transaction as every
-- insert, content/metadata change and delete, whichever code path wrote it: the quota
-- check reads one row per request instead of counting. Bytes are the stored content and
-- metadata (ciphertext when encryption is on).
CREATE TABLE tenant_usage (
    tenant_id     text COLLATE "C" PRIMARY KEY,
    memories      bigint NOT NULL DEFAULT 0,
    storage_bytes bigint NOT NULL DEFAULT 0
);

INSERT INTO tenant_usage (tenant_id, memories, storage_bytes)
SELECT tenant_id, COUNT(*), COALESCE(SUM(octet_length(content) + octet_length(metadata::text)), 0)
FROM memories GROUP BY tenant_id;

CREATE FUNCTION continuum_usage_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_usage (tenant_id, memories, storage_bytes)
    SELECT tenant_id, COUNT(*), SUM(octet_length(content) + octet_length(metadata::text))
    FROM new_rows GROUP BY tenant_id
    ON CONFLICT (tenant_id) DO UPDATE SET memories = tenant_usage.memories + excluded.memories,
        storage_bytes = tenant_usage.storage_bytes + excluded.storage_bytes;
    RETURN NULL;
END $$;

CREATE FUNCTION continuum_usage_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_usage u SET memories = u.memories - d.n, storage_bytes = u.storage_bytes - d.bytes
    FROM (SELECT tenant_id, COUNT(*) AS n, SUM(octet_length(content) + octet_length(metadata::text)) AS bytes
          FROM old_rows GROUP BY tenant_id) d
    WHERE u.tenant_id = d.tenant_id;
    RETURN NULL;
END $$;

CREATE FUNCTION continuum_usage_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_usage u SET storage_bytes = u.storage_bytes + d.bytes
    FROM (SELECT n.tenant_id, SUM(octet_length(n.content) + octet_length(n.metadata::text)
                                  - octet_length(o.content) - octet_length(o.metadata::text)) AS bytes
          FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
          GROUP BY n.tenant_id) d
    WHERE u.tenant_id = d.tenant_id AND d.bytes <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER trg_usage_memory_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION continuum_usage_inserted();
CREATE TRIGGER trg_usage_memory_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION continuum_usage_deleted();
CREATE TRIGGER trg_usage_memory_update AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION continuum_usage_updated();

CREATE TABLE tenant_billing (
    tenant_id       text COLLATE "C" PRIMARY KEY,
    tier            text NOT NULL,
    status          text NOT NULL DEFAULT 'active',
    source          text NOT NULL DEFAULT 'admin',
    customer_id     text,
    subscription_id text,
    changed_at      bigint NOT NULL DEFAULT 0
);

CREATE TABLE billing_events (
    event_id     text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C",
    event_type   text NOT NULL,
    claim        text NOT NULL,
    processed_at timestamptz NOT NULL
);
CREATE INDEX idx_billing_events_tenant ON billing_events (tenant_id);
