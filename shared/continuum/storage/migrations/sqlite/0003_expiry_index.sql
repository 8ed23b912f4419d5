-- Expired rows are looked up per tenant before every write (they are removed first):
-- without this index that lookup walks all of the tenant's memories.
CREATE INDEX idx_memories_tenant_expiry ON memories (tenant_id, expires_at) WHERE expires_at IS NOT NULL;
