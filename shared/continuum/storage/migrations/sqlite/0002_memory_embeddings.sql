-- Vectors for semantic recall: one per memory, for the model that made it.
-- float32 little-endian bytes (384 dims = 1,536 bytes, far below D1's 2 MB per value).
-- No extension needed (D1 loads none): the core scores vectors with an exact scan.
CREATE TABLE memory_embeddings (
    tenant_id    TEXT NOT NULL,
    memory_id    TEXT NOT NULL,
    model        TEXT NOT NULL,
    content_hash TEXT NOT NULL,              -- the content the vector was computed from
    vector       BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_memory_embeddings ON memory_embeddings (tenant_id, memory_id);
CREATE INDEX idx_memory_embeddings_model ON memory_embeddings (tenant_id, model, memory_id);

-- A vector lives and dies with its memory, and is dropped when the content changes.
CREATE TRIGGER memory_embeddings_on_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memory_embeddings WHERE tenant_id = old.tenant_id AND memory_id = old.id;
END;
CREATE TRIGGER memory_embeddings_on_change AFTER UPDATE OF content_hash ON memories
WHEN new.content_hash <> old.content_hash BEGIN
    DELETE FROM memory_embeddings WHERE tenant_id = new.tenant_id AND memory_id = new.id;
END;
