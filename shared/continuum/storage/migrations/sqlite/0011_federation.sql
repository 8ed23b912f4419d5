-- Federation (docs/federation.md): which tenants let their concepts count towards what this
-- node shares, the peers it exchanges with (public key, and how many concepts each gave and
-- took, for the contribute-to-access ratio), and what peers sent, kept apart from every
-- tenant's own concepts: names, types and link strengths only, no tenant and no time.
CREATE TABLE federation_optin (
    tenant_id  TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE federation_peers (
    peer_id     TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    public_key  TEXT NOT NULL UNIQUE,
    contributed INTEGER NOT NULL DEFAULT 0,
    taken       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE federated_concepts (
    name        TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    PRIMARY KEY (name, entity_type)
);

CREATE TABLE federated_links (
    concept_a TEXT NOT NULL,
    concept_b TEXT NOT NULL,
    strength  REAL NOT NULL,
    PRIMARY KEY (concept_a, concept_b)
);
CREATE INDEX idx_federated_links_b ON federated_links (concept_b);

-- the distinct concepts each peer gave (its contribution counts each once, however often sent)
CREATE TABLE federation_contributions (
    peer_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    PRIMARY KEY (peer_id, name, entity_type)
);
