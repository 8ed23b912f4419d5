-- continuum: optional extension pg_trgm
-- Fuzzy matching on entity names (similarity, "did you mean"). Applied only where the
-- pg_trgm extension is available and may be created; skipped cleanly otherwise, and
-- tried again by the next `continuum migrate`.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX idx_entities_name_trgm ON entities USING gin (name_key gin_trgm_ops);
