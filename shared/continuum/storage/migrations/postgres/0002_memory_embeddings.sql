-- Vectors for semantic recall: one per memory, for the model that made it, as
-- float32 little-endian bytes (the same bytes the SQLite and D1 schemas keep), so
-- exact scoring works on any PostgreSQL. Where pgvector exists, 0004 adds an indexed
-- copy of the same vector.
CREATE TABLE memory_embeddings (
    tenant_id    text COLLATE "C" NOT NULL,
    memory_id    text COLLATE "C" NOT NULL,
    model        text NOT NULL,
    content_hash text NOT NULL,                -- the content the vector was computed from
    vector       bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, memory_id),
    -- a vector lives and dies with its memory
    FOREIGN KEY (tenant_id, memory_id) REFERENCES memories (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idx_memory_embeddings_model ON memory_embeddings (tenant_id, model, memory_id);

-- ... and is dropped when the memory's content changes.
CREATE FUNCTION continuum_drop_stale_embedding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memory_embeddings WHERE tenant_id = NEW.tenant_id AND memory_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER memory_embeddings_on_change AFTER UPDATE OF content_hash ON memories
FOR EACH ROW WHEN (NEW.content_hash IS DISTINCT FROM OLD.content_hash)
EXECUTE FUNCTION continuum_drop_stale_embedding();
