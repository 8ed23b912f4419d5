-- Bounded lexical candidates: impact-ordered postings per (tenant, term), kept by the
-- adapter in the same atomic batch as each memory write (storage/sql/lexical.py).
-- A query reads each term's best postings by a backward scan of this key, so its work
-- follows the query, not the tenant's size.
CREATE TABLE lexical_postings (
    tenant_id TEXT NOT NULL,
    term      TEXT NOT NULL,       -- an analysed term, or its keyed hash when encrypting
    impact    INTEGER NOT NULL,    -- 100 x BM25's term-frequency part (fixed reference length)
    memory_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, term, impact, memory_id)
) WITHOUT ROWID;

-- Whether the postings hold every memory yet: an existing database is filled by
-- `continuum migrate` (resumable from the cursor, tenant then id); until then the
-- FTS5 index answers, and it is dropped only after.
CREATE TABLE lexical_index_state (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    built        INTEGER NOT NULL,
    after_tenant TEXT,
    after_id     TEXT,
    old_dropped  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO lexical_index_state (singleton, built) SELECT 1, NOT EXISTS (SELECT 1 FROM memories);
