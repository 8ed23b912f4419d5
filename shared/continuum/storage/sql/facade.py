"""`SqlStorage`: the Storage port over a backend's components.

A backend is a set of small objects sharing one runner: `reads` (the statements every
dialect spells alike) and the parts below, whose statements are its own. This class
only says which part answers which method of the port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from continuum.models import (
    ApiKeyRecord,
    BillingState,
    DeliveryOutcome,
    DeliveryRecord,
    EmbeddingRecord,
    EntityRecord,
    ExportPage,
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
from continuum.storage.sql.keys import SqlKeys
from continuum.storage.sql.lexical_index import LexicalIndex, Progress
from continuum.storage.sql.reads import SqlReads, VectorQuery

if TYPE_CHECKING:
    from continuum.ports import OutboxEventSource
    from continuum.storage.sql.billing import SqlBilling
    from continuum.storage.sql.federation import SqlFederation
    from continuum.storage.sql.history import SqlHistory
    from continuum.storage.sql.outbox import SqlOutbox


class SchemaPart(Protocol):
    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...
    async def migrate(self) -> list[str]: ...
    async def pending_migrations(self) -> list[str]: ...


class TenantPart(Protocol):
    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None: ...
    async def erase_tenant(self, tenant_id: str) -> TenantCounts: ...
    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None: ...


class WritePart(Protocol):
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


class SearchPart(Protocol):
    async def lexical_candidates(
        self, tenant_id: str, terms: Sequence[str], filters: MemoryFilters, *, limit: int, now: datetime,
        weights: Mapping[str, float] | None = None,
    ) -> list[MemoryRecord]: ...  # fmt: skip
    async def neighbours_many(
        self, tenant_id: str, memories: Sequence[MemoryRecord], filters: MemoryFilters, *, window: int, now: datetime
    ) -> dict[str, list[MemoryRecord]]: ...


class VectorPart(Protocol):
    async def put_embeddings(self, tenant_id: str, records: Sequence[EmbeddingRecord]) -> None: ...
    async def vector_candidates(self, query: VectorQuery) -> list[tuple[MemoryRecord, float]]: ...


class GraphPart(Protocol):
    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]: ...


class SqlStorage:
    name = "sql"

    def __init__(
        self,
        *,
        schema: SchemaPart,
        reads: SqlReads,
        tenants: TenantPart,
        writes: WritePart,
        search: SearchPart,
        vectors: VectorPart,
        graph: GraphPart,
    ) -> None:
        self._schema = schema
        self._reads = reads
        self._tenants = tenants
        self._writes = writes
        self._search = search
        self._vectors = vectors
        self._graph = graph
        self._keys = SqlKeys(reads.db, reads.d)  # one SQL shape in every dialect
        self._lexical = LexicalIndex(reads.db, reads.d)

    # ---- lifecycle --------------------------------------------------------------------

    async def connect(self) -> None:
        await self._schema.connect()

    async def close(self) -> None:
        await self._schema.close()

    async def ping(self) -> None:
        await self._schema.ping()

    async def migrate(self) -> list[str]:
        applied = await self._schema.migrate()
        await self._lexical.finish()
        return applied

    async def lexical_index_state(self) -> dict[str, Any] | None:
        return await self._lexical.state()

    async def build_lexical_index(
        self, progress: Progress | None = None, *, batch: int = 2000, max_batches: int | None = None
    ) -> int:
        """Fill the lexical postings of an existing database (resumable), then drop the old index."""
        return await self._lexical.build(progress, batch=batch, max_batches=max_batches)

    async def pending_migrations(self) -> list[str]:
        return await self._schema.pending_migrations()

    # ---- tenants and keys ---------------------------------------------------------------

    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None:
        await self._tenants.ensure_tenant(tenant_id, name, now)

    async def list_tenants(self) -> list[TenantRecord]:
        return await self._reads.list_tenants()

    async def erase_tenant(self, tenant_id: str) -> TenantCounts:
        return await self._tenants.erase_tenant(tenant_id)

    async def create_api_key(self, record: ApiKeyRecord) -> None:
        await self._keys.create_api_key(record)

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        return await self._keys.find_api_key(key_hash)

    async def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        return await self._keys.list_api_keys(tenant_id)

    async def revoke_api_key(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyRecord | None:
        return await self._keys.revoke_api_key(tenant_id, key_id, now)

    async def touch_api_key(self, tenant_id: str, key_hash: str, now: datetime, *, every: timedelta) -> None:
        await self._keys.touch_api_key(tenant_id, key_hash, now, every=every)

    # ---- writes -----------------------------------------------------------------------

    async def learn(self, tenant_id: str, write: LearnWrite) -> LearnOutcome:
        return await self._writes.learn(tenant_id, write)

    async def insert_memories(
        self, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime, *, history_ids: Sequence[str] = ()
    ) -> list[InsertResult]:
        return await self._writes.insert_memories(tenant_id, memories, now, history_ids=history_ids)

    async def update_memory(
        self, tenant_id: str, memory_id: str, changes: MemoryChanges, now: datetime, *, history_id: str | None = None
    ) -> MemoryRecord | None:
        return await self._writes.update_memory(tenant_id, memory_id, changes, now, history_id=history_id)

    async def delete_memory(
        self, tenant_id: str, memory_id: str, now: datetime, *, history_id: str | None = None
    ) -> bool:
        return await self._writes.delete_memory(tenant_id, memory_id, now, history_id=history_id)

    async def purge_expired(self, now: datetime) -> int:
        return await self._writes.purge_expired(now)

    # ---- change history -----------------------------------------------------------------

    @cached_property
    def _history(self) -> SqlHistory:
        """The history's read (its entries are written by the writes above), built on first
        use."""
        from continuum.storage.sql.history import SqlHistory

        return SqlHistory(self._reads.db, self._reads.d)

    async def memory_history(self, tenant_id: str, memory_id: str, *, limit: int) -> list[HistoryRecord]:
        return await self._history.memory_history(tenant_id, memory_id, limit=limit)

    # ---- federation (docs/federation.md) ---------------------------------------------------

    @cached_property
    def federation(self) -> SqlFederation:
        """Federation's tables (one SQL shape in every dialect), built on first use."""
        from continuum.storage.sql.federation import SqlFederation

        return SqlFederation(self._reads.db, self._reads.d)
    # ---- billing ------------------------------------------------------------------------

    @cached_property
    def _billing(self) -> SqlBilling:
        """Usage counters, tiers and processed Stripe events, built on first use."""
        from continuum.storage.sql.billing import SqlBilling

        return SqlBilling(self._reads.db, self._reads.d)

    async def tenant_usage(self, tenant_id: str) -> TenantUsage:
        return await self._billing.tenant_usage(tenant_id)

    async def billing_state(self, tenant_id: str) -> BillingState | None:
        return await self._billing.billing_state(tenant_id)

    async def set_billing_state(self, tenant_id: str, state: BillingState) -> BillingState:
        return await self._billing.set_billing_state(tenant_id, state)

    async def apply_billing_event(
        self, event_id: str, event_type: str, now: datetime, *, tenant_id: str | None, state: BillingState | None
    ) -> bool:
        return await self._billing.apply_billing_event(event_id, event_type, now, tenant_id=tenant_id, state=state)

    # ---- reads ------------------------------------------------------------------------

    async def get_memory(self, tenant_id: str, memory_id: str, now: datetime) -> MemoryRecord | None:
        return await self._reads.get_memory(tenant_id, memory_id, now)

    async def list_memories(
        self, tenant_id: str, filters: MemoryFilters, *, before_id: str | None, limit: int, now: datetime
    ) -> list[MemoryRecord]:
        return await self._reads.list_memories(tenant_id, filters, before_id=before_id, limit=limit, now=now)

    async def lexical_stats(self, tenant_id: str, terms: Sequence[str]) -> LexicalStats:
        return await self._reads.lexical_stats(tenant_id, terms)

    async def lexical_candidates(
        self, tenant_id: str, terms: Sequence[str], filters: MemoryFilters, *, limit: int, now: datetime,
        weights: Mapping[str, float] | None = None,
    ) -> list[MemoryRecord]:  # fmt: skip
        return await self._search.lexical_candidates(
            tenant_id, terms, filters, limit=limit, now=now, weights=weights
        )

    async def neighbours(
        self, tenant_id: str, memory: MemoryRecord, *, window: int, now: datetime
    ) -> list[MemoryRecord]:
        return await self._reads.neighbours(tenant_id, memory, window=window, now=now)

    async def neighbours_many(
        self, tenant_id: str, memories: Sequence[MemoryRecord], filters: MemoryFilters, *, window: int, now: datetime
    ) -> dict[str, list[MemoryRecord]]:
        """For each memory, up to `window` memories before and after it in its session
        (or instance when it has no session), by id order, within `filters`."""
        return await self._search.neighbours_many(tenant_id, memories, filters, window=window, now=now)

    # ---- vectors ----------------------------------------------------------------------

    async def put_embeddings(self, tenant_id: str, records: Sequence[EmbeddingRecord]) -> None:
        """Store vectors; one whose memory is gone or whose content changed is skipped."""
        await self._vectors.put_embeddings(tenant_id, records)

    async def get_embeddings(self, tenant_id: str, memory_ids: Sequence[str], *, model: str) -> dict[str, bytes]:
        return await self._reads.get_embeddings(tenant_id, memory_ids, model=model)

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
        query = VectorQuery(tenant_id, vector, filters, model, limit, scan_limit, now)
        return await self._vectors.vector_candidates(query)

    async def missing_embeddings(
        self, tenant_id: str, *, model: str, limit: int, now: datetime
    ) -> list[MemoryRecord]:
        """Live memories with no vector for `model` (oldest first), for back-filling."""
        return await self._reads.missing_embeddings(tenant_id, model=model, limit=limit, now=now)

    # ---- concept graph ------------------------------------------------------------------

    async def find_entities(self, tenant_id: str, keys: Sequence[str]) -> list[EntityRecord]:
        return await self._reads.find_entities(tenant_id, keys)

    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> list[EntityRecord]:
        return await self._reads.list_entities(tenant_id, entity_type=entity_type, limit=limit, offset=offset)

    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]:
        return await self._graph.entity_links(tenant_id, keys, limit=limit)

    async def counts(self, tenant_id: str) -> TenantCounts:
        return await self._reads.counts(tenant_id)

    # ---- export / import --------------------------------------------------------------

    async def export_page(self, tenant_id: str, kind: str, *, after: str | None, limit: int) -> ExportPage:
        return await self._reads.export_page(tenant_id, kind, after=after, limit=limit)

    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None:
        """Write exported messages, decisions, entities or links (memories go through
        insert_memories); existing rows with the same identity are kept or replaced."""
        await self._tenants.import_rows(tenant_id, kind, rows)

    # ---- webhooks: the outbox (continuum.storage.sql.outbox) -----------------------------

    def record_events(self, events: OutboxEventSource | None) -> None:
        """From now on writes record their events in the webhook outbox (None: they stop)."""
        for part in (self._writes, self._tenants):
            part.events = events  # type: ignore[attr-defined]

    @cached_property
    def _outbox(self) -> SqlOutbox:
        from continuum.storage.sql.outbox import SqlOutbox

        return SqlOutbox(self._reads.db, self._reads.d)

    async def create_webhook(self, record: WebhookRecord) -> None:
        await self._outbox.create_webhook(record)

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> WebhookRecord | None:
        return await self._outbox.get_webhook(tenant_id, webhook_id)

    async def list_webhooks(self, tenant_id: str) -> list[WebhookRecord]:
        return await self._outbox.list_webhooks(tenant_id)

    async def update_webhook(self, record: WebhookRecord) -> None:
        await self._outbox.update_webhook(record)

    async def delete_webhook(self, tenant_id: str, webhook_id: str) -> bool:
        return await self._outbox.delete_webhook(tenant_id, webhook_id)

    async def enqueue_delivery(self, record: DeliveryRecord) -> None:
        await self._outbox.enqueue_delivery(record)

    async def get_delivery(self, tenant_id: str, delivery_id: str) -> DeliveryRecord | None:
        return await self._outbox.get_delivery(tenant_id, delivery_id)

    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, *, status: str | None, before_id: str | None, limit: int
    ) -> list[DeliveryRecord]:
        return await self._outbox.list_deliveries(
            tenant_id, webhook_id, status=status, before_id=before_id, limit=limit
        )

    async def claim_deliveries(self, now: datetime, lease_until: datetime, *, limit: int) -> list[DeliveryRecord]:
        return await self._outbox.claim_deliveries(now, lease_until, limit=limit)

    async def finish_delivery(self, tenant_id: str, delivery_id: str, outcome: DeliveryOutcome) -> None:
        await self._outbox.finish_delivery(tenant_id, delivery_id, outcome)

    async def replay_delivery(self, tenant_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        return await self._outbox.replay_delivery(tenant_id, delivery_id, now)
