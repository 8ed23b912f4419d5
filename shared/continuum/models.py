"""Records that cross the storage port. Plain dataclasses: no I/O, no validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCOPE_SEPARATOR = "\x1f"


def scope_key(instance_id: str | None, session_id: str | None) -> str:
    """De-duplication scope: the same content twice in one scope is one memory."""
    return f"{instance_id or ''}{SCOPE_SEPARATOR}{session_id or ''}"


@dataclass
class MemoryRecord:
    """A memory as stored: `content` may be ciphertext, `search_terms` are index terms."""

    id: str
    tenant_id: str
    content: str
    content_hash: str
    search_terms: str
    role: str
    instance_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None

    @property
    def scope_key(self) -> str:
        return scope_key(self.instance_id, self.session_id)

    @property
    def terms(self) -> list[str]:
        return self.search_terms.split()


@dataclass
class InsertResult:
    """One stored memory's outcome: its id, and whether it was new ("stored") or a "duplicate"."""

    id: str
    status: str  # "stored" | "duplicate"


@dataclass
class MemoryChanges:
    """Fields of a PATCH; `None` means unchanged except where `clear_expiry` says so."""

    content: str | None = None
    content_hash: str | None = None
    search_terms: str | None = None
    role: str | None = None
    metadata: dict[str, Any] | None = None
    expires_at: datetime | None = None
    clear_expiry: bool = False


@dataclass
class HistoryRecord:
    """One change of a memory: "ADD", "UPDATE" or "DELETE". Contents as stored (ciphertext
    when encryption is on); `old_content` is the previous entry's `new_content`, filled in
    by the storage when the entry is written (None for the first entry)."""

    id: str
    memory_id: str
    event: str
    new_content: str | None
    metadata: dict[str, Any]
    created_at: datetime
    old_content: str | None = None
    instance_id: str | None = None  # the memory's scope when it changed
    session_id: str | None = None


@dataclass
class MemoryFilters:
    """Which memories a listing, search or recall considers (all given conditions hold)."""

    instance_id: str | None = None
    session_id: str | None = None
    role: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class ConceptMention:
    """A concept named in a turn: its key, display name, kind and description."""

    key: str
    name: str
    kind: str
    description: str


@dataclass
class EntityRecord:
    """A stored concept (entity) of one tenant, with how often it was mentioned."""

    tenant_id: str
    key: str
    name: str
    entity_type: str
    description: str
    mention_count: int
    created_at: datetime
    last_seen_at: datetime


@dataclass
class LinkRecord:
    """Two concepts seen together: the link's strength and how often it happened."""

    concept_a: str
    concept_b: str
    strength: float
    occurrences: int
    created_at: datetime
    updated_at: datetime

    def other(self, key: str) -> str:
        return self.concept_b if self.concept_a == key else self.concept_a


@dataclass
class MessageRecord:
    """One learned turn, kept verbatim (`auto_messages`)."""

    id: str
    tenant_id: str
    instance_id: str | None
    session_id: str | None
    user_message: str
    ai_response: str
    thinking: str | None
    metadata: dict[str, Any]
    created_at: datetime


@dataclass
class DecisionRecord:
    """A decision detected in a turn, with the message it came from."""

    id: str
    tenant_id: str
    instance_id: str | None
    session_id: str | None
    message_id: str | None
    decision: str
    created_at: datetime


@dataclass
class LearnWrite:
    """Everything one `learn` persists, written atomically by the adapter."""

    message: MessageRecord
    memories: list[MemoryRecord]
    concepts: list[ConceptMention]
    links: list[tuple[str, str]]
    decisions: list[DecisionRecord]
    link_increment: float
    now: datetime
    history_ids: list[str] = field(default_factory=list)  # one per memory: the id of its ADD entry


@dataclass
class LearnOutcome:
    """What storing one learned turn did: the inserts, the new concepts, the links made."""

    results: list[InsertResult]
    new_concepts: list[str]
    links_created: int


@dataclass
class LexicalStats:
    """Per-tenant corpus statistics for BM25: never mixed across tenants."""

    doc_count: int
    term_total: int
    document_frequency: dict[str, int]

    @property
    def average_length(self) -> float:
        return self.term_total / self.doc_count if self.doc_count else 0.0


KEY_SCOPES = ("read", "write")  # `write` includes `read`; `admin` is the admin key's alone


@dataclass
class ApiKeyRecord:
    """A tenant key as stored: its SHA-256 (`key_hash`, never shown), a public `key_id`
    (what listings show and revocation names), the first characters of the key (`key_prefix`,
    to tell keys apart), its scopes, and when it expires, was revoked and was last used."""

    key_hash: str = field(repr=False)
    tenant_id: str
    name: str | None
    key_prefix: str
    created_at: datetime
    key_id: str = ""
    scopes: tuple[str, ...] = KEY_SCOPES
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass
class TenantRecord:
    """A tenant: its id, optional name and creation time."""

    tenant_id: str
    name: str | None
    created_at: datetime


@dataclass
class TenantCounts:
    """How many records of each kind a tenant has."""

    entities: int = 0
    messages: int = 0
    decisions: int = 0
    attention_links: int = 0
    memories: int = 0


@dataclass
class ExportPage:
    """One page of a tenant export: rows of one kind, and where to continue."""

    kind: str
    rows: list[Any]
    next_after: str | None


@dataclass
class EmbeddingRecord:
    """A memory's vector: float32 little-endian bytes, unit length, for one model.

    `content_hash` ties it to the content it was computed from: a vector whose
    memory changed since is never stored (and is dropped when the content changes).
    """

    memory_id: str
    model: str
    content_hash: str
    vector: bytes
    created_at: datetime


EXPORT_KINDS = ("memory", "message", "decision", "entity", "link", "history")


EVENT_TYPES = ("memory.created", "memory.updated", "memory.deleted", "concept.discovered", "tenant.erased")


@dataclass(frozen=True)
class Event:
    """A change a tenant's subscribers hear of (webhooks, real-time sync): `data` is plain
    JSON (a memory's content decrypted; `continuum.core.events` builds them)."""

    id: str
    type: str  # one of EVENT_TYPES
    tenant_id: str
    occurred_at: datetime
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The JSON object delivered: the same on every channel."""
        return {
            "id": self.id,
            "type": self.type,
            "tenant_id": self.tenant_id,
            "created_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


# ---- webhooks (continuum.core.webhooks) -------------------------------------------------


@dataclass
class WebhookRecord:
    """A tenant's endpoint. `events`: the event types it receives (empty: all);
    `secret` as stored (ciphertext when encryption is on)."""

    tenant_id: str
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    secret: str
    status: str  # active, disabled, erased
    created_at: datetime
    updated_at: datetime


@dataclass
class DeliveryRecord:
    """One event for one webhook, from the outbox. `payload`: the event's JSON text with a
    memory's content as stored."""

    tenant_id: str
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    payload: str
    status: str  # pending, delivered, dead
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    response_status: int | None
    last_error: str | None
    created_at: datetime


# ---- federation (docs/federation.md) ----------------------------------------------------


@dataclass(frozen=True)
class FederationPeer:
    """A node this node exchanges concepts with: its Ed25519 public key (base64url), where it
    answers, and how many concepts it gave this node and took from it."""

    peer_id: str  # derived from the public key (continuum.core.federation.protocol.node_id)
    url: str
    public_key: str
    contributed: int
    taken: int
    created_at: datetime


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt came to: `delivered`, or the next attempt's time (None: dead)."""

    delivered: bool
    at: datetime
    response_status: int | None = None
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class FederatedConcept:
    """A concept as nodes exchange it: a case-folded name and a type, nothing else."""

    name: str
    entity_type: str


@dataclass(frozen=True)
class FederatedLink:
    """Two exchanged concepts (names, concept_a < concept_b) and how strongly they go together."""

    concept_a: str
    concept_b: str
    strength: float
# ---- billing (continuum.core.billing) ----


@dataclass(frozen=True)
class TenantUsage:
    """What a tenant holds, from counters the database keeps in the same atomic write as
    each memory insert, change and delete (never counted per request): its memories and
    their stored bytes (content and metadata, as stored; expired rows until purged)."""

    memories: int = 0
    storage_bytes: int = 0


@dataclass(frozen=True)
class BillingState:
    """A tenant's tier and where it came from. `status`: "active", or "past_due" after a
    failed invoice payment. `changed_at`: epoch seconds of the change (a Stripe event's
    `created`), so an older event never undoes a newer change."""

    tier: str
    status: str = "active"
    source: str = "admin"  # "admin" or "stripe"
    customer_id: str | None = None
    subscription_id: str | None = None
    changed_at: int = 0
