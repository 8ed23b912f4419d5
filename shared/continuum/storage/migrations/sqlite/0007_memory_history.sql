-- Change history of memories: one row per create, update or delete of a memory, kept
-- after the memory is gone (the mem0-compatible history route reads it). Content is
-- stored as the memory's is (ciphertext when encryption is on). `old_content` is the
-- previous entry's `new_content`, copied when the entry is written.
CREATE TABLE memory_history (
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    memory_id TEXT NOT NULL,
    instance_id TEXT,
    session_id TEXT,
    event TEXT NOT NULL,
    old_content TEXT,
    new_content TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_memory_history_memory ON memory_history (tenant_id, memory_id, id);
