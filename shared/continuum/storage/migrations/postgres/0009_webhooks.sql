-- Webhooks: a tenant's endpoints and the outbox of their deliveries.
-- `events` is the subscribed event types between commas (",memory.created,memory.deleted,")
-- or "*" for all, so one LIKE matches in every dialect. `secret` is the HMAC key that
-- signs each delivery (ciphertext when encryption is on). `status`: active, disabled, or
-- erased (its tenant was erased: kept only until tenant.erased reached it).
CREATE TABLE webhooks (
    tenant_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    url text NOT NULL,
    events text NOT NULL,
    description text NOT NULL DEFAULT '',
    secret text NOT NULL,
    status text NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- The outbox: one row per (event, webhook), written in the transaction of the change that
-- raised the event. `payload` is the event's JSON body with a memory's content as stored
-- (ciphertext when encryption is on; decrypted when delivered). `status`: pending,
-- delivered, dead (retries exhausted). A pending row is due at `next_attempt_at`; a
-- dispatcher claims it by moving that time past its own attempt (a lease) under its `claim` token.
CREATE TABLE webhook_deliveries (
    tenant_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    webhook_id text COLLATE "C" NOT NULL,
    event_id text COLLATE "C" NOT NULL,
    event_type text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    claim text,
    last_attempt_at timestamptz,
    response_status integer,
    last_error text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (tenant_id, webhook_id, id);
