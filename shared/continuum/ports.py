"""The ports: small async interfaces the core depends on. Adapters live apart.

Every storage method takes the tenant first and must scope every statement by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from continuum.clock import Clock
from continuum.models import (
    ApiKeyRecord,
    BillingState,
    ConceptMention,
    DeliveryOutcome,
    DeliveryRecord,
    EmbeddingRecord,
    EntityRecord,
    Event,
    ExportPage,
    FederatedConcept,
    FederatedLink,
    FederationPeer,
    HistoryRecord,
    InsertResult,
    LearnOutcome,
    LearnWrite,
    LexicalStats,
    LinkRecord,
    MemoryChanges,
    MemoryFilters,
    MemoryRecord,
    TenantCounts,
    TenantRecord,
    TenantUsage,
    WebhookRecord,
)


class Storage(Protocol):
    """Durable state. Raises `DependencyUnavailable` when the database is unreachable."""

    name: str

    @property
    def federation(self) -> FederationStore: ...  # federation's tables (docs/federation.md)

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...
    async def migrate(self) -> list[str]: ...
    async def pending_migrations(self) -> list[str]: ...

    # tenants and keys
    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None: ...
    async def list_tenants(self) -> list[TenantRecord]: ...
    async def erase_tenant(self, tenant_id: str) -> TenantCounts: ...
    async def create_api_key(self, record: ApiKeyRecord) -> None: ...
    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...
    async def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]: ...
    async def revoke_api_key(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyRecord | None: ...
    async def touch_api_key(self, tenant_id: str, key_hash: str, now: datetime, *, every: timedelta) -> None: ...

    # writes: given the id of its history entry (`history_ids`: one per memory, in order;
    # `LearnWrite.history_ids` too), a write of a memory records its change ("ADD", "UPDATE",
    # "DELETE" at `now`, copied from the row) in the same atomic write: neither is ever kept
    # without the other. Without ids nothing is recorded (an import brings its own history).
    async def learn(self, tenant_id: str, write: LearnWrite) -> LearnOutcome: ...
    async def insert_memories(
        self, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime, *, history_ids: Sequence[str] = ()
    ) -> list[InsertResult]: ...
    async def update_memory(
        self, tenant_id: str, memory_id: str, changes: MemoryChanges, now: datetime, *, history_id: str | None = None
    ) -> MemoryRecord | None: ...
    async def delete_memory(
        self, tenant_id: str, memory_id: str, now: datetime, *, history_id: str | None = None
    ) -> bool: ...
    async def purge_expired(self, now: datetime) -> int: ...

    # change history of memories (kept after a memory is deleted; erased with the tenant);
    # each entry's old content is the previous entry's new one
    async def memory_history(self, tenant_id: str, memory_id: str, *, limit: int) -> list[HistoryRecord]:
        """The memory's changes, oldest first (at most `limit`)."""
        ...

    # reads
    async def get_memory(self, tenant_id: str, memory_id: str, now: datetime) -> MemoryRecord | None: ...
    async def list_memories(
        self,
        tenant_id: str,
        filters: MemoryFilters,
        *,
        before_id: str | None,
        limit: int,
        now: datetime,
    ) -> list[MemoryRecord]: ...
    async def lexical_stats(self, tenant_id: str, terms: Sequence[str]) -> LexicalStats: ...
    async def lexical_candidates(
        self,
        tenant_id: str,
        terms: Sequence[str],
        filters: MemoryFilters,
        *,
        limit: int,
        now: datetime,
        weights: Mapping[str, float] | None = None,
    ) -> list[MemoryRecord]:
        """Up to `limit` live memories matching the terms, best first. `weights` (term ->
        query weight x idf) let an index that ranks by impact sum them; without, each term
        weighs the same."""
        ...
    async def neighbours(
        self, tenant_id: str, memory: MemoryRecord, *, window: int, now: datetime
    ) -> list[MemoryRecord]: ...

    async def neighbours_many(
        self,
        tenant_id: str,
        memories: Sequence[MemoryRecord],
        filters: MemoryFilters,
        *,
        window: int,
        now: datetime,
    ) -> dict[str, list[MemoryRecord]]:
        """For each memory, up to `window` memories before and after it in its session
        (or instance when it has no session), by id order, within `filters`."""
        ...

    # vectors (embeddings): float32 bytes, one per memory and model
    async def put_embeddings(self, tenant_id: str, records: Sequence[EmbeddingRecord]) -> None:
        """Store vectors; one whose memory is gone or whose content changed is skipped."""
        ...

    async def get_embeddings(self, tenant_id: str, memory_ids: Sequence[str], *, model: str) -> dict[str, bytes]: ...
    async def vector_candidates(
        self,
        tenant_id: str,
        vector: bytes,
        filters: MemoryFilters,
        *,
        model: str,
        limit: int,
        scan_limit: int,
        now: datetime,
    ) -> list[tuple[MemoryRecord, float]]:
        """Nearest memories by cosine: an index where the database has one (pgvector),
        else an exact scan of at most `scan_limit` of the newest vectors."""
        ...

    async def missing_embeddings(self, tenant_id: str, *, model: str, limit: int, now: datetime) -> list[MemoryRecord]:
        """Live memories with no vector for `model` (oldest first), for back-filling."""
        ...

    # concept graph
    async def find_entities(self, tenant_id: str, keys: Sequence[str]) -> list[EntityRecord]: ...
    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> list[EntityRecord]: ...
    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]: ...
    async def counts(self, tenant_id: str) -> TenantCounts: ...

    # billing: usage counters kept in the same atomic write as each memory write (read in
    # O(1), never counted per request), the tenant's tier, processed Stripe events
    async def tenant_usage(self, tenant_id: str) -> TenantUsage: ...
    async def billing_state(self, tenant_id: str) -> BillingState | None: ...
    async def set_billing_state(self, tenant_id: str, state: BillingState) -> BillingState:
        """Store the state unless the stored one changed later (`changed_at`); the state held."""
        ...

    async def apply_billing_event(
        self, event_id: str, event_type: str, now: datetime, *, tenant_id: str | None, state: BillingState | None
    ) -> bool:
        """Record event `event_id` as processed and write `state` atomically; False (nothing
        written) when the event was processed before."""
        ...

    # export / import
    async def export_page(self, tenant_id: str, kind: str, *, after: str | None, limit: int) -> ExportPage: ...
    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None: ...

    # webhooks (docs/webhooks.md). Once given `events` (only when webhooks are enabled),
    # every write with history ids (learn, insert, update, delete) and erase_tenant records
    # its events in the outbox in its own atomic write, one delivery per matching active
    # webhook of the tenant (none when it has none): a change is never kept without them.
    # erase_tenant records tenant.erased for the tenant's subscribed webhooks, marks them
    # `erased` and removes every other webhook and delivery of the tenant.
    def record_events(self, events: OutboxEventSource | None) -> None: ...
    async def create_webhook(self, record: WebhookRecord) -> None: ...
    async def get_webhook(self, tenant_id: str, webhook_id: str) -> WebhookRecord | None: ...
    async def list_webhooks(self, tenant_id: str) -> list[WebhookRecord]:
        """The tenant's webhooks but erased ones, oldest first."""
        ...

    async def update_webhook(self, record: WebhookRecord) -> None: ...
    async def delete_webhook(self, tenant_id: str, webhook_id: str) -> bool:
        """Remove the webhook and its deliveries; False when the tenant has no such webhook."""
        ...

    async def enqueue_delivery(self, record: DeliveryRecord) -> None: ...
    async def get_delivery(self, tenant_id: str, delivery_id: str) -> DeliveryRecord | None: ...
    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, *, status: str | None, before_id: str | None, limit: int
    ) -> list[DeliveryRecord]:
        """The webhook's deliveries, newest first."""
        ...

    async def claim_deliveries(self, now: datetime, lease_until: datetime, *, limit: int) -> list[DeliveryRecord]:
        """Pending deliveries due at `now` (every tenant's, oldest due first), each taken by
        this caller alone: its next attempt moves to `lease_until`, so one whose sender dies
        is due again then (at-least-once)."""
        ...

    async def finish_delivery(self, tenant_id: str, delivery_id: str, outcome: DeliveryOutcome) -> None:
        """Record an attempt: delivered, pending again at `outcome.retry_at`, or dead."""
        ...

    async def replay_delivery(self, tenant_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        """Make the delivery pending and due now (its attempts count again from zero)."""
        ...


class OutboxEventSource(Protocol):
    """Builds the events a write records in the webhook outbox (`continuum.core.webhooks.OutboxEvents`):
    a memory's content as stored."""

    clock: Clock

    def created(self, tenant_id: str, records: Sequence[MemoryRecord], now: datetime) -> list[Event]: ...
    def updated(self, tenant_id: str, record: MemoryRecord, now: datetime) -> Event: ...
    def deleted(self, tenant_id: str, memory_ids: Sequence[str], now: datetime) -> list[Event]: ...
    def discovered(self, tenant_id: str, concepts: Sequence[ConceptMention], now: datetime) -> list[Event]: ...
    def erased(self, tenant_id: str, now: datetime) -> Event: ...


class WebhookSender(Protocol):
    """Sends one signed delivery over HTTP (httpx on servers). Never raises for the
    target's failures: they come back as `SendResult.error`."""

    async def resolve(self, host: str) -> list[str] | None:
        """The host's addresses (checked before each delivery: SSRF); empty when it does not
        resolve; None where the runtime cannot resolve (a Worker: its platform's fetch connects)."""
        ...

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        """POST `body`; the sender's own timeout bounds the whole attempt."""
        ...

    async def close(self) -> None: ...


class SendResult(NamedTuple):
    status: int | None  # the HTTP status, or None when no answer came
    error: str | None = None  # why it failed: a timeout, a refused connection, a non-2xx answer


@runtime_checkable
class BackupCapable(Protocol):
    """A storage that copies itself to a file online and can be replaced by such a copy
    (the SQLite file; PostgreSQL has pg_dump and pg_restore)."""

    async def backup(self, destination: str) -> None: ...
    async def restore(self, source: str) -> None: ...


class Cache(Protocol):
    """A string key-value cache with expiry. Failures raise `CacheUnavailable`."""

    name: str

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: int) -> None: ...
    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str, ttl: int) -> int: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class CacheUnavailable(Exception):
    """The shared cache could not be reached; callers fall back to the database."""


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class Metrics(Protocol):
    """Counters and timings the core reports; Prometheus or CloudWatch EMF behind it."""

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None: ...
    def memories_stored(self, count: int) -> None: ...
    def concepts_extracted(self, count: int) -> None: ...
    def cache_hit(self) -> None: ...
    def cache_miss(self) -> None: ...
    def recall_latency(self, seconds: float) -> None: ...


class EventPublisher(Protocol):
    """Hands a tenant's events to live subscribers (real-time sync), after the write that
    raised them committed. Best effort: never raises, never delays the write noticeably.
    (Webhooks do not ride on this: they have a durable outbox written with the change.)"""

    async def publish(self, events: Sequence[Event]) -> None: ...


class NullEventPublisher:
    """No live subscribers: events go nowhere."""

    async def publish(self, events: Sequence[Event]) -> None:
        pass


class NullMetrics:
    """Metrics that go nowhere (CLI, tests)."""

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        pass

    def memories_stored(self, count: int) -> None:
        pass

    def concepts_extracted(self, count: int) -> None:
        pass

    def cache_hit(self) -> None:
        pass

    def cache_miss(self) -> None:
        pass

    def recall_latency(self, seconds: float) -> None:
        pass


# ---- Idempotency-Key records (continuum.core.idempotency; DynamoDB in continuum.aws.idempotency) ----

ClaimState = Literal["new", "completed", "in_progress", "mismatch"]


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class StoredResponse(NamedTuple):
    status: int
    body: bytes
    content_type: str


class Claim(NamedTuple):
    """`new`: the caller holds the key and must `complete` or `release` it.
    `completed`: replay `response`. `in_progress`: another attempt is running.
    `mismatch`: the key was used for a different request."""

    state: ClaimState
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    name: str

    async def claim(self, key: str, fingerprint: str, *, lock_seconds: int) -> Claim: ...
    async def complete(self, key: str, fingerprint: str, response: StoredResponse, *, ttl: int) -> None: ...
    async def release(self, key: str, fingerprint: str) -> None: ...


class IdempotencyUnavailable(Exception):
    """The store could not be reached; the write must not run unprotected."""


class IdempotencyUnsupported(Exception):
    """This deployment has no store shared by its instances: the key cannot be honoured."""


class FederationStore(Protocol):
    """What federation keeps (migration 0011): tenants' opt-in, peers with their
    contribute/take counts, and the concepts received from peers, kept apart from tenants'.
    Reads of tenants' concepts only ever return node-level aggregates (no tenant in them)."""

    async def set_opt_in(self, tenant_id: str, opted_in: bool, now: datetime) -> None: ...
    async def is_opted_in(self, tenant_id: str) -> bool: ...
    async def shared_concepts(self, *, min_tenants: int, limit: int) -> list[FederatedConcept]: ...
    async def shared_links(self, *, min_tenants: int, limit: int) -> list[FederatedLink]: ...
    async def add_peer(self, peer: FederationPeer) -> FederationPeer: ...
    async def get_peer(self, peer_id: str) -> FederationPeer | None: ...
    async def list_peers(self) -> list[FederationPeer]: ...
    async def delete_peer(self, peer_id: str) -> bool: ...
    async def add_contribution(self, peer_id: str, concepts: Sequence[FederatedConcept]) -> int: ...
    async def charge_take(self, peer_id: str, wanted: int, ratio: float) -> int: ...
    async def store_federated(self, concepts: Sequence[FederatedConcept], links: Sequence[FederatedLink]) -> None: ...
    async def federated_concepts(
        self, *, entity_type: str | None, limit: int, offset: int
    ) -> list[FederatedConcept]: ...
    async def federated_links(self, names: Sequence[str], *, limit: int) -> list[FederatedLink]: ...


class Analytics(Protocol):
    """Anonymous product analytics (docs/analytics.md): best effort, never blocks or raises."""

    def capture(self, event: str, distinct_id: str, properties: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


# Real-time sync (docs/sync.md): the event bus carries each tenant's event JSON from the
# instance that wrote to the instances holding that tenant's WebSocket subscribers.


class BusSubscription(Protocol):
    """One subscriber's stream of a tenant's messages (event JSON), in publication order."""

    async def next(self) -> str:
        """The next message; raises `continuum.errors.SubscriptionLost` when the stream
        ended (bus down or closed, or the subscriber fell too far behind)."""
        ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    """Per-tenant publish/subscribe. `subscribe` returns once messages published after it
    will reach the subscription; `publish` is best effort (errors are logged, not raised)."""

    name: str

    def listening(self, tenant_id: str) -> bool:
        """Whether a subscriber could hear `tenant_id` (True when this instance cannot know)."""
        ...

    async def publish(self, tenant_id: str, messages: Sequence[str]) -> None: ...
    async def subscribe(self, tenant_id: str) -> BusSubscription: ...
    async def close(self) -> None: ...
