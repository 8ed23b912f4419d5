-- CONTINUUM schema, SQLite dialect (also applied to Cloudflare D1 by wrangler).
-- Every table carries tenant_id; every lookup key starts with it.
-- Times are fixed-width UTC ISO-8601 text, so text order is time order.

CREATE TABLE tenants (
    tenant_id  TEXT PRIMARY KEY,
    name       TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,          -- sha256 of the key; the key itself is never stored
    tenant_id  TEXT NOT NULL,
    name       TEXT,
    key_prefix TEXT NOT NULL,             -- first characters, to tell keys apart in listings
    created_at TEXT NOT NULL
);
CREATE INDEX idx_api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE memories (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- stable rowid for the FTS index
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    instance_id  TEXT,
    session_id   TEXT,
    scope_key    TEXT NOT NULL,
    role         TEXT NOT NULL,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    search_terms TEXT NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    expires_at   TEXT
);
CREATE UNIQUE INDEX ux_memories_tenant_id ON memories (tenant_id, id);
CREATE UNIQUE INDEX ux_memories_dedup ON memories (tenant_id, scope_key, content_hash);
CREATE INDEX idx_memories_session ON memories (tenant_id, session_id, id);
CREATE INDEX idx_memories_instance ON memories (tenant_id, instance_id, id);
CREATE INDEX idx_memories_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;

-- Lexical index over pre-analysed terms (the core stems and, with encryption, hashes them).
-- tenant_id is indexed too so that a query intersects one tenant's postings only.
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    tenant_id,
    search_terms,
    content = 'memories',
    content_rowid = 'seq',
    tokenize = "unicode61 remove_diacritics 0 tokenchars '-_.'"
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, tenant_id, search_terms)
    VALUES (new.seq, new.tenant_id, new.search_terms);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, tenant_id, search_terms)
    VALUES ('delete', old.seq, old.tenant_id, old.search_terms);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF search_terms ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, tenant_id, search_terms)
    VALUES ('delete', old.seq, old.tenant_id, old.search_terms);
    INSERT INTO memories_fts (rowid, tenant_id, search_terms)
    VALUES (new.seq, new.tenant_id, new.search_terms);
END;

-- Per-tenant BM25 statistics, kept in step with memories by the adapter.
CREATE TABLE term_stats (
    tenant_id TEXT NOT NULL,
    term      TEXT NOT NULL,
    df        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, term)
) WITHOUT ROWID;

CREATE TABLE corpus_stats (
    tenant_id  TEXT PRIMARY KEY,
    doc_count  INTEGER NOT NULL,
    term_total INTEGER NOT NULL
);

CREATE TABLE auto_messages (
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    instance_id  TEXT,
    session_id   TEXT,
    user_message TEXT NOT NULL,
    ai_response  TEXT NOT NULL,
    thinking     TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE decisions (
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    instance_id TEXT,
    session_id  TEXT,
    message_id  TEXT,
    decision    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE entities (
    tenant_id     TEXT NOT NULL,
    name_key      TEXT NOT NULL,           -- case-folded identity
    name          TEXT NOT NULL,           -- as first seen
    entity_type   TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    mention_count INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);
CREATE INDEX idx_entities_type ON entities (tenant_id, entity_type, mention_count);

CREATE TABLE attention_links (
    tenant_id   TEXT NOT NULL,
    concept_a   TEXT NOT NULL,             -- entity name_key, concept_a < concept_b
    concept_b   TEXT NOT NULL,
    strength    REAL NOT NULL,             -- in (0, 1): s <- s + rate * (1 - s)
    occurrences INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, concept_a, concept_b)
);
CREATE INDEX idx_links_b ON attention_links (tenant_id, concept_b);
