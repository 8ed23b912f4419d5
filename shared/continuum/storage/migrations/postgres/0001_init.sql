-- CONTINUUM schema, PostgreSQL dialect. Same tables and meaning as the SQLite files.
-- Every table carries tenant_id; every lookup key starts with it.
-- Keys that the API orders by use COLLATE "C" (byte order), as SQLite does, so that
-- listings, cursors and exports come out in the same order on every database.
-- The deployment guide's own indexes (idx_links_strength, idx_entities_description_fts)
-- are left to operators: this schema must accept them unchanged.

CREATE TABLE tenants (
    tenant_id  text COLLATE "C" PRIMARY KEY,
    name       text,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    key_hash   text COLLATE "C" PRIMARY KEY,  -- sha256 of the key; the key itself is never stored
    tenant_id  text COLLATE "C" NOT NULL,
    name       text,
    key_prefix text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX idx_api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE memories (
    id           text COLLATE "C" NOT NULL,
    tenant_id    text COLLATE "C" NOT NULL,
    instance_id  text COLLATE "C",
    session_id   text COLLATE "C",
    scope_key    text COLLATE "C" NOT NULL,
    role         text NOT NULL,
    content      text NOT NULL,
    content_hash text COLLATE "C" NOT NULL,
    search_terms text NOT NULL,               -- pre-analysed index terms, space-separated
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_terms)) STORED,
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX ux_memories_dedup ON memories (tenant_id, scope_key, content_hash);
CREATE INDEX idx_memories_session ON memories (tenant_id, session_id, id);
CREATE INDEX idx_memories_instance ON memories (tenant_id, instance_id, id);
CREATE INDEX idx_memories_expiry ON memories (tenant_id, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX idx_memories_expiry_all ON memories (expires_at) WHERE expires_at IS NOT NULL;
-- Full-text candidates: the core's terms through the `simple` configuration (no
-- stemming or stop words here: the core already did both, the same on every runtime).
CREATE INDEX idx_memories_search ON memories USING gin (search_vector);

-- Per-tenant BM25 statistics, kept in step with memories by the adapter.
CREATE TABLE term_stats (
    tenant_id text COLLATE "C" NOT NULL,
    term      text COLLATE "C" NOT NULL,
    df        integer NOT NULL,
    PRIMARY KEY (tenant_id, term)
);

CREATE TABLE corpus_stats (
    tenant_id  text COLLATE "C" PRIMARY KEY,
    doc_count  bigint NOT NULL,
    term_total bigint NOT NULL
);

CREATE TABLE auto_messages (
    id           text COLLATE "C" NOT NULL,
    tenant_id    text COLLATE "C" NOT NULL,
    instance_id  text COLLATE "C",
    session_id   text COLLATE "C",
    user_message text NOT NULL,
    ai_response  text NOT NULL,
    thinking     text,
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE decisions (
    id          text COLLATE "C" NOT NULL,
    tenant_id   text COLLATE "C" NOT NULL,
    instance_id text COLLATE "C",
    session_id  text COLLATE "C",
    message_id  text COLLATE "C",
    decision    text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE entities (
    tenant_id     text COLLATE "C" NOT NULL,
    name_key      text COLLATE "C" NOT NULL,   -- case-folded identity
    name          text NOT NULL,               -- as first seen
    entity_type   text COLLATE "C" NOT NULL,
    description   text NOT NULL DEFAULT '',
    mention_count integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);
CREATE INDEX idx_entities_type ON entities (tenant_id, entity_type, mention_count);

CREATE TABLE attention_links (
    tenant_id   text COLLATE "C" NOT NULL,
    concept_a   text COLLATE "C" NOT NULL,      -- entity name_key, concept_a < concept_b
    concept_b   text COLLATE "C" NOT NULL,
    strength    double precision NOT NULL,      -- in (0, 1): s <- s + rate * (1 - s)
    occurrences integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, concept_a, concept_b)
);
CREATE INDEX idx_links_b ON attention_links (tenant_id, concept_b);
