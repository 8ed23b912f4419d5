-- Key controls: a public id per key (what listings show and DELETE /v1/keys/{id} names;
-- never the key or its hash), scopes, expiry, revocation and the time of last use.
-- Keys created before this migration keep the rights they had (read write) and get an id
-- taken from their hash (a prefix of a SHA-256 of 256 random bits reveals nothing).
ALTER TABLE api_keys ADD COLUMN key_id text COLLATE "C";
ALTER TABLE api_keys ADD COLUMN scopes text NOT NULL DEFAULT 'read write';
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
UPDATE api_keys SET key_id = substr(key_hash, 1, 16) WHERE key_id IS NULL;
ALTER TABLE api_keys ALTER COLUMN key_id SET NOT NULL;
CREATE UNIQUE INDEX idx_api_keys_tenant_key_id ON api_keys (tenant_id, key_id);
