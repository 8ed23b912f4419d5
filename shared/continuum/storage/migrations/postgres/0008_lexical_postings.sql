-- Bounded lexical candidates: impact-ordered postings per (tenant, term), kept by the
-- adapter in the same transaction as each memory write (storage/sql/lexical.py).
-- A query reads each term's best postings by a backward scan of this key, so its work
-- follows the query, not the tenant's size.
CREATE TABLE lexical_postings (
    tenant_id text COLLATE "C" NOT NULL,
    term      text COLLATE "C" NOT NULL,  -- an analysed term, or its keyed hash when encrypting
    impact    smallint NOT NULL,          -- 100 x BM25's term-frequency part (fixed reference length)
    memory_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, term, impact, memory_id)
);

-- Whether the postings hold every memory yet: an existing database is filled by
-- `continuum migrate` (resumable from the cursor, tenant then id); until then the
-- GIN index answers, and it (with the tsvector column) is dropped only after.
CREATE TABLE lexical_index_state (
    singleton    integer PRIMARY KEY CHECK (singleton = 1),
    built        boolean NOT NULL,
    after_tenant text COLLATE "C",
    after_id     text COLLATE "C",
    old_dropped  boolean NOT NULL DEFAULT false
);
INSERT INTO lexical_index_state (singleton, built) SELECT 1, NOT EXISTS (SELECT 1 FROM memories);
