-- Key controls: a public id per key (what listings show and DELETE /v1/keys/{id} names;
-- never the key or its hash), scopes, expiry, revocation and the time of last use.
-- Numbered 0006 as on PostgreSQL, so one version names one change on every database.
-- Keys created before this migration keep the rights they had (read write) and get an id
-- taken from their hash (a prefix of a SHA-256 of 256 random bits reveals nothing).
ALTER TABLE api_keys ADD COLUMN key_id TEXT;
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read write';
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
UPDATE api_keys SET key_id = substr(key_hash, 1, 16) WHERE key_id IS NULL;
CREATE UNIQUE INDEX idx_api_keys_tenant_key_id ON api_keys (tenant_id, key_id);
