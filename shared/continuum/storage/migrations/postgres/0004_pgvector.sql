-- continuum: optional extension vector
-- pgvector, where the server has it (detected, never assumed): an indexed copy of each
-- stored vector. The column has no fixed size (models differ), so the HNSW index is
-- per size: a partial expression index for 384 dimensions (all-MiniLM-L6-v2, the local
-- default). A query uses it with
--   WHERE vector_dims(embedding) = 384 ORDER BY embedding::vector(384) <=> $1::vector(384)
-- Another size needs its own index, made the same way in a later migration.
CREATE EXTENSION IF NOT EXISTS vector;
ALTER TABLE memory_embeddings ADD COLUMN embedding vector;
CREATE INDEX idx_memory_embeddings_hnsw_384 ON memory_embeddings
    USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE vector_dims(embedding) = 384;
