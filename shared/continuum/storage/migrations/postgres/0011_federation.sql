-- Federation (docs/federation.md): which tenants let their concepts count towards what this
-- node shares, the peers it exchanges with (public key, and how many concepts each gave and
-- took, for the contribute-to-access ratio), and what peers sent, kept apart from every
-- tenant's own concepts: names, types and link strengths only, no tenant and no time.
CREATE TABLE federation_optin (
    tenant_id  text COLLATE "C" PRIMARY KEY,
    created_at timestamptz NOT NULL
);

CREATE TABLE federation_peers (
    peer_id     text COLLATE "C" PRIMARY KEY,
    url         text NOT NULL,
    public_key  text COLLATE "C" NOT NULL UNIQUE,
    contributed bigint NOT NULL DEFAULT 0,
    taken       bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);

CREATE TABLE federated_concepts (
    name        text COLLATE "C" NOT NULL,
    entity_type text COLLATE "C" NOT NULL,
    PRIMARY KEY (name, entity_type)
);

CREATE TABLE federated_links (
    concept_a text COLLATE "C" NOT NULL,
    concept_b text COLLATE "C" NOT NULL,
    strength  double precision NOT NULL,
    PRIMARY KEY (concept_a, concept_b)
);
CREATE INDEX idx_federated_links_b ON federated_links (concept_b);

-- the distinct concepts each peer gave (its contribution counts each once, however often sent)
CREATE TABLE federation_contributions (
    peer_id     text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    entity_type text COLLATE "C" NOT NULL,
    PRIMARY KEY (peer_id, name, entity_type)
);
