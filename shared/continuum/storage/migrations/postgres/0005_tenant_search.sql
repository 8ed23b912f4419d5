-- continuum: optional extension btree_gin
-- Full-text candidates inside one tenant without touching the others' postings or the
-- tenant's whole primary-key range. btree_gin (PostgreSQL contrib) lets a GIN index
-- carry `tenant_id` next to `search_vector`; a query
--   WHERE tenant_id = $1 AND search_vector @@ $2
-- is then answered by this one index: GIN intersects the tenant's posting tree with the
-- query terms' postings (skipping through the larger one), so the work follows the
-- matching memories, not the tenant's size. Without btree_gin the migration is skipped
-- and 0001's plain GIN index serves the same query (the planner ANDs it with the
-- primary key's tenant range: correct, slower in very large tenants).
-- The plain index is then redundant (a multi-column GIN index serves either column on
-- its own) and is dropped: one index to keep up to date on every write, not two.
-- CREATE INDEX blocks writes to `memories` while it builds (16 s for one million memories
-- on 2 CPUs); on a large database run `continuum migrate` at a quiet moment.
-- Since 0008 the lexical postings replace this index, and `continuum migrate` drops the
-- tsvector column once they are built: applied after that (btree_gin installed later),
-- this migration creates the extension and nothing else.
CREATE EXTENSION IF NOT EXISTS btree_gin;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'memories' AND column_name = 'search_vector') THEN
        CREATE INDEX idx_memories_tenant_search ON memories USING gin (tenant_id, search_vector);
        DROP INDEX IF EXISTS idx_memories_search;
    END IF;
END
$$;
