-- Change history of memories: one row per create, update or delete of a memory, kept
-- after the memory is gone (the mem0-compatible history route reads it). Content is
-- stored as the memory's is (ciphertext when encryption is on). `old_content` is the
-- previous entry's `new_content`, copied when the entry is written.
CREATE TABLE memory_history (
    id text COLLATE "C" NOT NULL,
    tenant_id text COLLATE "C" NOT NULL,
    memory_id text COLLATE "C" NOT NULL,
    instance_id text COLLATE "C",
    session_id text COLLATE "C",
    event text NOT NULL,
    old_content text,
    new_content text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_memory_history_memory ON memory_history (tenant_id, memory_id, id);
