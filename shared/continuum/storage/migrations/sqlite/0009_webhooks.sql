-- Webhooks: a tenant's endpoints and the outbox of their deliveries.
-- `events` is the subscribed event types between commas (",memory.created,memory.deleted,")
-- or "*" for all, so one LIKE matches in every dialect. `secret` is the HMAC key that
-- signs each delivery (ciphertext when encryption is on). `status`: active, disabled, or
-- erased (its tenant was erased: kept only until tenant.erased reached it).
CREATE TABLE webhooks (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- The outbox: one row per (event, webhook), written in the transaction of the change that
-- raised the event. `payload` is the event's JSON body with a memory's content as stored
-- (ciphertext when encryption is on; decrypted when delivered). `status`: pending,
-- delivered, dead (retries exhausted). A pending row is due at `next_attempt_at`; a
-- dispatcher claims it by moving that time past its own attempt (a lease) under its `claim` token.
CREATE TABLE webhook_deliveries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claim TEXT,
    last_attempt_at TEXT,
    response_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (tenant_id, webhook_id, id);
