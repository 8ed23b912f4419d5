"""Storage on PostgreSQL (psycopg 3, async): containers, Kubernetes, AWS Lambda.

The semantics are exactly those of `sqlite_dialect.SqliteDialectStorage` (the
reference): the same de-duplication scope, expired rows removed before writes, the
same insert results, per-tenant term statistics kept exact, the same link formula,
orderings, cursors and export pages. The tests in tests/contract prove it on both.

Every write is one real transaction. Statements are never prepared on the server and
no session state is used, so the adapter works through transaction-mode poolers.
A lost connection before COMMIT is retried once on a fresh connection; deadlocks and
serialization failures are retried; an unreachable server becomes
`DependencyUnavailable` (HTTP 503 + Retry-After) and the adapter recovers by itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from continuum.errors import Conflict, DependencyUnavailable
from continuum.models import (
    ApiKeyRecord,
    DecisionRecord,
    EntityRecord,
    ExportPage,
    InsertResult,
    LearnOutcome,
    LearnWrite,
    LinkRecord,
    MemoryChanges,
    MemoryFilters,
    MemoryRecord,
    MessageRecord,
    TenantCounts,
    TenantRecord,
)
from continuum.settings import Settings
from continuum.storage.migrations import Migration, load_migrations
from continuum.storage.postgres_connect import (
    RETRY_AFTER,
    Gate,
    PoolExhausted,
    PoolSource,
    SingleSource,
    connection_settings,
    describe,
)
from continuum.storage.postgres_search import SearchMixin
from continuum.storage.postgres_vectors import VectorMixin
from continuum.storage.rows import RowReader

log = logging.getLogger("continuum.storage.postgres")

T = TypeVar("T")
Row = dict[str, Any]
Work = Callable[[AsyncConnection], Awaitable[T]]

MIGRATION_LOCK = 0x636F6E74  # "cont": serialises concurrent migrators (transaction-scoped)
_OPTIONAL = re.compile(r"^--\s*continuum:\s*optional extension\s+([A-Za-z0-9_]+)\s*$", re.MULTILINE)
_SKIPPABLE = (
    psycopg.errors.InsufficientPrivilege,
    psycopg.errors.FeatureNotSupported,
    psycopg.errors.UndefinedFile,
    psycopg.errors.UndefinedObject,
)

MEMORY_COLUMNS = (
    "id, tenant_id, instance_id, session_id, role, content, content_hash, search_terms, "
    "metadata, created_at, updated_at, expires_at"
)
_LIVE = "(expires_at IS NULL OR expires_at > %s)"
_TABLES = (
    "memory_embeddings",
    "memories",
    "term_stats",
    "corpus_stats",
    "auto_messages",
    "decisions",
    "entities",
    "attention_links",
    "api_keys",
    "tenants",
)


# ---- values ---------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _sorted_json(value: Any) -> Any:
    """jsonb keeps keys in its own order; give them back sorted, as the SQLite text has them."""
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def _ts(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _opt_ts(moment: datetime | None) -> datetime | None:
    return _ts(moment) if moment is not None else None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


_rows = RowReader(moment=_utc, document=_sorted_json)
memory_from_row = _rows.memory
_entity_from_row = _rows.entity
_link_from_row = _rows.link
_message_from_row = _rows.message
_decision_from_row = _rows.decision


# ---- filters --------------------------------------------------------------------------


def _metadata_clause(metadata: dict[str, Any], column: str) -> tuple[list[str], list[Any]]:
    """Exact top-level matches, with JSON types respected (1 is not true, "1" is not 1)."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in metadata.items():
        if value is None:
            clauses.append(f"jsonb_typeof({column} -> %s) = 'null'")
            params.append(key)
        elif isinstance(value, bool):
            clauses.append(f"{column} -> %s = %s::jsonb")
            params += [key, "true" if value else "false"]
        elif isinstance(value, int | float):
            # CASE fixes the evaluation order: the cast only ever sees numbers.
            kind = "numeric" if isinstance(value, int) else "float8"
            clauses.append(
                f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' THEN ({column} ->> %s)::{kind} END = %s::{kind}"
            )
            params += [key, key, value]
        elif isinstance(value, str):
            clauses.append(f"{column} -> %s = to_jsonb(%s::text)")
            params += [key, value]
        else:
            clauses.append(f"{column} -> %s = %s::jsonb")
            params += [key, _json(value)]
    return clauses, params


def filter_clause(filters: MemoryFilters, prefix: str = "") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("instance_id", "session_id", "role"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{prefix}{column} = %s")
            params.append(value)
    if filters.since is not None:
        clauses.append(f"{prefix}created_at >= %s")
        params.append(_ts(filters.since))
    if filters.until is not None:
        clauses.append(f"{prefix}created_at < %s")
        params.append(_ts(filters.until))
    if filters.metadata:
        more_clauses, more = _metadata_clause(filters.metadata, f"{prefix}metadata")
        clauses += more_clauses
        params += more
    return "".join(f" AND {c}" for c in clauses), params


async def fetch(conn: AsyncConnection, query: str, params: Sequence[Any] = ()) -> list[Row]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def _required_extension(migration: Migration) -> str | None:
    match = _OPTIONAL.search(migration.sql)
    return match.group(1) if match else None


Part = tuple[str, list[Any]]


async def execute_parts(conn: AsyncConnection, parts: Sequence[Part]) -> None:
    """Run writes to different tables as one statement (data-modifying CTEs): one round
    trip. They share one snapshot, which is safe as no two of them touch the same rows."""
    if not parts:
        return
    if len(parts) == 1:
        await conn.execute(parts[0][0], parts[0][1])
        return
    ctes = ", ".join(f"w{n} AS ({query})" for n, (query, _) in enumerate(parts))
    await conn.execute(f"WITH {ctes} SELECT 1", [p for _, params in parts for p in params])


def _message_part(tenant_id: str, msg: MessageRecord) -> Part:
    return (
        "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
        "thinking, metadata, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
        [
            msg.id,
            tenant_id,
            msg.instance_id,
            msg.session_id,
            msg.user_message,
            msg.ai_response,
            msg.thinking,
            _json(msg.metadata),
            _ts(msg.created_at),
        ],
    )


def _entity_parts(tenant_id: str, write: LearnWrite, now: datetime) -> list[Part]:
    """One mention per concept occurrence; the first occurrence names a new entity."""
    mentions = Counter(c.key for c in write.concepts)
    first: dict[str, Any] = {}
    for concept in write.concepts:
        first.setdefault(concept.key, concept)
    ordered = sorted(first)  # a fixed lock order
    if not ordered:
        return []
    return [
        (
            "INSERT INTO entities (tenant_id, name_key, name, entity_type, description, mention_count, created_at, "
            "last_seen_at) SELECT %s, k, n, t, d, c, %s, %s FROM unnest(%s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::int[]) AS u(k, n, t, d, c) ON CONFLICT (tenant_id, name_key) DO UPDATE SET "
            "mention_count = entities.mention_count + EXCLUDED.mention_count, last_seen_at = EXCLUDED.last_seen_at",
            [
                tenant_id,
                now,
                now,
                ordered,
                [first[k].name for k in ordered],
                [first[k].kind for k in ordered],
                [first[k].description for k in ordered],
                [mentions[k] for k in ordered],
            ],
        )
    ]


def _link_rounds(pairs: Sequence[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    """A pair given n times is strengthened n times: round k holds the pairs given > k times."""
    remaining = Counter(pairs)
    rounds = []
    while remaining:
        rounds.append(sorted(remaining))
        remaining = Counter({p: n - 1 for p, n in remaining.items() if n > 1})
    return rounds


def _link_parts(tenant_id: str, rounds: Sequence[Sequence[tuple[str, ...]]], rate: float, now: datetime) -> list[Part]:
    """s <- s + rate * (1 - s) per co-occurrence, in the exact float operations of SQLite.
    Each round must be its own statement (a statement updates a row once)."""
    return [
        (
            "INSERT INTO attention_links (tenant_id, concept_a, concept_b, strength, occurrences, created_at, "
            "updated_at) SELECT %s, a, b, %s, 1, %s, %s FROM unnest(%s::text[], %s::text[]) AS u(a, b) "
            "ON CONFLICT (tenant_id, concept_a, concept_b) DO UPDATE SET "
            "strength = attention_links.strength + EXCLUDED.strength * (1.0 - attention_links.strength), "
            "occurrences = attention_links.occurrences + 1, updated_at = EXCLUDED.updated_at",
            [tenant_id, rate, now, now, [p[0] for p in batch], [p[1] for p in batch]],
        )
        for batch in rounds
    ]


def _decision_parts(tenant_id: str, decisions: Sequence[DecisionRecord]) -> list[Part]:
    if not decisions:
        return []
    return [
        (
            "INSERT INTO decisions (id, tenant_id, instance_id, session_id, message_id, decision, created_at) "
            "SELECT d.id, %s, d.instance_id, d.session_id, d.message_id, d.decision, d.created_at FROM "
            "unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[]) "
            "AS d(id, instance_id, session_id, message_id, decision, created_at)",
            [
                tenant_id,
                [d.id for d in decisions],
                [d.instance_id for d in decisions],
                [d.session_id for d in decisions],
                [d.message_id for d in decisions],
                [d.decision for d in decisions],
                [_ts(d.created_at) for d in decisions],
            ],
        )
    ]


# ---- the adapter ----------------------------------------------------------------------


class PostgresStorage(SearchMixin, VectorMixin):
    """The Storage port on PostgreSQL. `serverless=True`: one reused connection per warm
    instance (AWS Lambda); otherwise a pool (POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW)."""

    name = "postgres"

    def __init__(self, settings: Settings, *, serverless: bool = False) -> None:
        if not settings.postgres_url:
            raise ValueError("PostgresStorage needs POSTGRES_URL")
        self.serverless = serverless
        self._conninfo, self._kwargs = connection_settings(settings.postgres_url)
        self._source: PoolSource | SingleSource
        if serverless:
            self._source = SingleSource(self._conninfo, self._kwargs)
        else:
            self._source = PoolSource(
                self._conninfo,
                self._kwargs,
                min_size=settings.postgres_pool_size,
                max_size=settings.postgres_pool_size + settings.postgres_max_overflow,
            )
        self.gate = Gate(self._probe, self._source.reset)
        self._features: set[str] | None = None

    # ---- running work ---------------------------------------------------------------

    async def _probe(self) -> None:
        conn = await AsyncConnection.connect(self._conninfo, **{**self._kwargs, "connect_timeout": 2})
        try:
            await conn.execute("SELECT 1")
        finally:
            await conn.close()

    async def _run(self, work: Work[T], *, write: bool = False) -> T:
        """Run `work` on a connection (in one transaction when `write`), translating
        failures: retry what is safe to retry, 503 when the server is unreachable."""
        await self.gate.enter()
        attempt = 0
        while True:
            attempt += 1
            used: AsyncConnection | None = None
            reached_commit = False
            try:
                async with self._source.connection() as conn:
                    used = conn
                    if write:
                        async with conn.transaction():
                            result = await work(conn)
                            reached_commit = True
                    else:
                        result = await work(conn)
                return result
            except psycopg.errors.TransactionRollback:
                if attempt < 4:
                    continue  # deadlock or serialization failure: nothing was written
                raise DependencyUnavailable("database busy: transaction kept conflicting", retry_after=1) from None
            except PoolExhausted as exc:
                if await self.gate.server_down(exc):
                    raise self._unavailable() from None
                raise DependencyUnavailable("database busy: no free connection", retry_after=1) from None
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                lost = used is None or used.closed or used.broken
                if not lost:
                    raise DependencyUnavailable(f"database error: {describe(exc)}", retry_after=RETRY_AFTER) from None
                if await self.gate.server_down(exc):
                    raise self._unavailable() from None
                if attempt == 1 and not reached_commit:
                    await self._source.refresh()
                    continue  # a stale connection (e.g. the server restarted): try a fresh one
                raise DependencyUnavailable(
                    f"database connection lost: {describe(exc)}", retry_after=RETRY_AFTER
                ) from None

    def _unavailable(self) -> DependencyUnavailable:
        return DependencyUnavailable(f"PostgreSQL is unreachable: {self.gate.last_error}", retry_after=RETRY_AFTER)

    # ---- lifecycle ------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the pool and check the server directly, so an unreachable database is
        reported within the probe's timeout rather than the pool's acquire timeout."""
        await self._source.open()
        await self.gate.enter()
        try:
            await self._probe()
        except Exception as exc:
            await self.gate.server_down(exc)
            raise self._unavailable() from None

    async def close(self) -> None:
        await self._source.close()

    async def ping(self) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute("SELECT 1")

        await self._run(work)

    async def _applied_versions(self, conn: AsyncConnection) -> set[str]:
        rows = await fetch(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        if not rows[0]["present"]:
            return set()
        return {r["version"] for r in await fetch(conn, "SELECT version FROM schema_migrations")}

    @staticmethod
    async def _available_extensions(conn: AsyncConnection) -> set[str]:
        return {r["name"] for r in await fetch(conn, "SELECT name FROM pg_available_extensions")}

    async def pending_migrations(self) -> list[str]:
        async def work(conn: AsyncConnection) -> list[str]:
            applied = await self._applied_versions(conn)
            available = await self._available_extensions(conn)
            return [
                m.version
                for m in load_migrations("postgres")
                if m.version not in applied and (_required_extension(m) or "") in available | {""}
            ]

        return await self._run(work)

    async def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction, serialised by an advisory lock.
        A migration marked `optional extension X` runs only where X is available and
        may be created; otherwise it is skipped (and tried again next time)."""

        async def work(conn: AsyncConnection) -> list[str]:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = await self._applied_versions(conn)
            available = await self._available_extensions(conn)
            done: list[str] = []
            for migration in load_migrations("postgres"):
                if migration.version in applied:
                    continue
                extension = _required_extension(migration)
                if extension is not None:
                    if extension not in available:
                        log.info(
                            "optional migration skipped",
                            extra={"version": migration.version, "reason": f"extension {extension} not available"},
                        )
                        continue
                    try:
                        async with conn.transaction():  # a savepoint
                            await conn.execute(migration.sql.encode())
                    except _SKIPPABLE as exc:
                        log.warning(
                            "optional migration skipped", extra={"version": migration.version, "reason": describe(exc)}
                        )
                        continue
                else:
                    try:
                        await conn.execute(migration.sql.encode())
                    except psycopg.errors.Error as exc:
                        if isinstance(exc, psycopg.OperationalError):
                            raise
                        raise RuntimeError(f"migration {migration.version} failed: {describe(exc)}") from None
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (migration.version,))
                done.append(migration.version)
            return done

        done = await self._run(work, write=True)
        self._features = None
        return done

    async def features(self) -> set[str]:
        """Optional capabilities present in this database: "trigram", "vector"."""
        if self._features is None:

            async def work(conn: AsyncConnection) -> set[str]:
                applied = await self._applied_versions(conn)
                found = set()
                for migration in load_migrations("postgres"):
                    extension = _required_extension(migration)
                    if extension and migration.version in applied:
                        found.add({"pg_trgm": "trigram"}.get(extension, extension))
                return found

            self._features = await self._run(work)
        return self._features

    # ---- tenants and keys -----------------------------------------------------------

    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                "INSERT INTO tenants (tenant_id, name, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (tenant_id) DO UPDATE SET name = COALESCE(EXCLUDED.name, tenants.name) "
                "WHERE EXCLUDED.name IS NOT NULL",
                (tenant_id, name, _ts(now)),
            )

        await self._run(work, write=True)

    async def list_tenants(self) -> list[TenantRecord]:
        async def work(conn: AsyncConnection) -> list[TenantRecord]:
            rows = await fetch(conn, "SELECT tenant_id, name, created_at FROM tenants ORDER BY tenant_id")
            return [TenantRecord(r["tenant_id"], r["name"], _utc(r["created_at"])) for r in rows]

        return await self._run(work)

    async def erase_tenant(self, tenant_id: str) -> TenantCounts:
        async def work(conn: AsyncConnection) -> TenantCounts:
            counts = await self._counts(conn, tenant_id)
            for table in _TABLES:
                if table == "memory_embeddings" and not await self._table_exists(conn, table):
                    continue
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)), (tenant_id,)
                )
            return counts

        return await self._run(work, write=True)

    @staticmethod
    async def _table_exists(conn: AsyncConnection, table: str) -> bool:
        rows = await fetch(conn, "SELECT to_regclass(%s) IS NOT NULL AS present", (table,))
        return bool(rows[0]["present"])

    async def create_api_key(self, record: ApiKeyRecord) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                "INSERT INTO api_keys (key_hash, tenant_id, name, key_prefix, created_at) VALUES (%s, %s, %s, %s, %s)",
                (record.key_hash, record.tenant_id, record.name, record.key_prefix, _ts(record.created_at)),
            )

        await self._run(work, write=True)

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        async def work(conn: AsyncConnection) -> ApiKeyRecord | None:
            rows = await fetch(
                conn,
                "SELECT key_hash, tenant_id, name, key_prefix, created_at FROM api_keys WHERE key_hash = %s",
                (key_hash,),
            )
            if not rows:
                return None
            r = rows[0]
            return ApiKeyRecord(r["key_hash"], r["tenant_id"], r["name"], r["key_prefix"], _utc(r["created_at"]))

        return await self._run(work)

    # ---- write helpers (inside a transaction) ----------------------------------------

    @staticmethod
    def _term_parts(tenant_id: str, deltas: Counter[str], docs: int, total: int) -> list[Part]:
        changed = sorted(t for t, d in deltas.items() if d)  # sorted: a fixed lock order
        parts: list[Part] = []
        if changed:
            parts.append(
                (
                    "INSERT INTO term_stats (tenant_id, term, df) "
                    "SELECT %s, t, d FROM unnest(%s::text[], %s::int[]) AS u(t, d) "
                    "ON CONFLICT (tenant_id, term) DO UPDATE SET df = term_stats.df + EXCLUDED.df",
                    [tenant_id, changed, [deltas[t] for t in changed]],
                )
            )
        if docs or total:
            parts.append(
                (
                    "INSERT INTO corpus_stats (tenant_id, doc_count, term_total) VALUES (%s, %s, %s) "
                    "ON CONFLICT (tenant_id) DO UPDATE SET doc_count = corpus_stats.doc_count + EXCLUDED.doc_count, "
                    "term_total = corpus_stats.term_total + EXCLUDED.term_total",
                    [tenant_id, docs, total],
                )
            )
        return parts

    @classmethod
    async def _apply_term_deltas(
        cls,
        conn: AsyncConnection,
        tenant_id: str,
        deltas: Counter[str],
        docs: int,
        total: int,
        extra: Sequence[Part] = (),
    ) -> None:
        """Apply statistics changes (and any `extra` writes) in one round trip; terms
        whose count fell to zero are removed after."""
        await execute_parts(conn, [*extra, *cls._term_parts(tenant_id, deltas, docs, total)])
        gone = sorted(t for t, d in deltas.items() if d < 0)
        if gone:
            await conn.execute(
                "DELETE FROM term_stats WHERE tenant_id = %s AND term = ANY(%s::text[]) AND df <= 0",
                (tenant_id, gone),
            )

    async def _forget_rows(self, conn: AsyncConnection, tenant_id: str, rows: Sequence[Row]) -> None:
        """Statistics for memory rows that were just deleted."""
        deltas: Counter[str] = Counter()
        total = 0
        for row in rows:
            terms = row["search_terms"].split()
            total += len(terms)
            for term in set(terms):
                deltas[term] -= 1
        await self._apply_term_deltas(conn, tenant_id, deltas, -len(rows), -total)

    async def _remove_expired(self, conn: AsyncConnection, tenant_id: str, now: datetime) -> None:
        """Expired rows are removed before writing, so they never shadow new content."""
        rows = await fetch(
            conn,
            "DELETE FROM memories WHERE tenant_id = %s AND expires_at IS NOT NULL AND expires_at <= %s "
            "RETURNING search_terms",
            (tenant_id, _ts(now)),
        )
        if rows:
            await self._forget_rows(conn, tenant_id, rows)

    @staticmethod
    async def _existing_ids(conn: AsyncConnection, tenant_id: str, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = await fetch(
            conn, "SELECT id FROM memories WHERE tenant_id = %s AND id = ANY(%s::text[])", (tenant_id, list(ids))
        )
        return {r["id"] for r in rows}

    async def _insert_memories(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        memories: Sequence[MemoryRecord],
        existing: set[str],
        extra: Sequence[Part] = (),
    ) -> set[str]:
        """Insert the memories whose id is new (first of a repeated id only) unless their
        content is already held in their scope; count the terms of those that landed.
        `extra` writes go in the same round trip as the statistics."""
        fresh: list[MemoryRecord] = []
        seen = set(existing)
        for memory in memories:
            if memory.id not in seen:
                seen.add(memory.id)
                fresh.append(memory)
        if not fresh:
            await execute_parts(conn, extra)
            return set()
        rows = await fetch(
            conn,
            f"INSERT INTO memories (scope_key, {MEMORY_COLUMNS}) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::timestamptz[], %s::timestamptz[], "
            "%s::timestamptz[]) ON CONFLICT DO NOTHING RETURNING id",
            (
                [m.scope_key for m in fresh],
                [m.id for m in fresh],
                [tenant_id] * len(fresh),
                [m.instance_id for m in fresh],
                [m.session_id for m in fresh],
                [m.role for m in fresh],
                [m.content for m in fresh],
                [m.content_hash for m in fresh],
                [m.search_terms for m in fresh],
                [_json(m.metadata) for m in fresh],
                [_ts(m.created_at) for m in fresh],
                [_ts(m.updated_at) for m in fresh],
                [_opt_ts(m.expires_at) for m in fresh],
            ),
        )
        landed = {r["id"] for r in rows}
        deltas: Counter[str] = Counter()
        total = 0
        for memory in fresh:
            if memory.id in landed:
                terms = memory.terms
                total += len(terms)
                deltas.update(set(terms))
        await self._apply_term_deltas(conn, tenant_id, deltas, len(landed), total, extra)
        return landed

    @staticmethod
    async def _insert_results(
        conn: AsyncConnection,
        tenant_id: str,
        memories: Sequence[MemoryRecord],
        existing: set[str],
        landed: set[str],
    ) -> list[InsertResult]:
        """Which rows landed, and for the others the id of the memory that holds the content."""
        lost = sorted({(m.scope_key, m.content_hash) for m in memories if m.id not in existing and m.id not in landed})
        owner: dict[tuple[str, str], str] = {}
        if lost:
            rows = await fetch(
                conn,
                "SELECT id, scope_key, content_hash FROM memories WHERE tenant_id = %s AND (scope_key, content_hash) "
                "IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                (tenant_id, [k for k, _ in lost], [h for _, h in lost]),
            )
            owner = {(r["scope_key"], r["content_hash"]): r["id"] for r in rows}
        results = []
        reported: set[str] = set()
        for memory in memories:
            if memory.id in existing or memory.id in reported:
                results.append(InsertResult(id=memory.id, status="duplicate"))
            elif memory.id in landed:
                results.append(InsertResult(id=memory.id, status="stored"))
            else:
                holder = owner.get((memory.scope_key, memory.content_hash), memory.id)
                results.append(InsertResult(id=holder, status="duplicate"))
            reported.add(memory.id)
        return results

    # ---- writes ---------------------------------------------------------------------

    async def insert_memories(
        self, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime
    ) -> list[InsertResult]:
        async def work(conn: AsyncConnection) -> list[InsertResult]:
            existing = await self._existing_ids(conn, tenant_id, [m.id for m in memories])
            await self._remove_expired(conn, tenant_id, now)
            landed = await self._insert_memories(conn, tenant_id, memories, existing)
            return await self._insert_results(conn, tenant_id, memories, existing, landed)

        return await self._run(work, write=True)

    async def learn(self, tenant_id: str, write: LearnWrite) -> LearnOutcome:
        now = _ts(write.now)
        keys = [c.key for c in write.concepts]
        pairs = [tuple(p) for p in write.links]
        ids = [m.id for m in write.memories]

        async def work(conn: AsyncConnection) -> LearnOutcome:
            # what exists already, in one round trip
            rows = await fetch(
                conn,
                "SELECT 'entity' AS kind, name_key AS a, NULL AS b FROM entities "
                "WHERE tenant_id = %s AND name_key = ANY(%s::text[]) "
                "UNION ALL SELECT 'link', concept_a, concept_b FROM attention_links WHERE tenant_id = %s "
                "AND (concept_a, concept_b) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                "UNION ALL SELECT 'memory', id, NULL FROM memories WHERE tenant_id = %s AND id = ANY(%s::text[])",
                (tenant_id, keys, tenant_id, [p[0] for p in pairs], [p[1] for p in pairs], tenant_id, ids),
            )
            known = {r["a"] for r in rows if r["kind"] == "entity"}
            linked = {(r["a"], r["b"]) for r in rows if r["kind"] == "link"}
            existing = {r["a"] for r in rows if r["kind"] == "memory"}
            await self._remove_expired(conn, tenant_id, write.now)
            rounds = _link_rounds(pairs)
            parts = [
                _message_part(tenant_id, write.message),
                *_entity_parts(tenant_id, write, now),
                *_link_parts(tenant_id, rounds[:1], write.link_increment, now),
                *_decision_parts(tenant_id, write.decisions),
            ]
            landed = await self._insert_memories(conn, tenant_id, write.memories, existing, parts)
            await execute_parts(conn, _link_parts(tenant_id, rounds[1:], write.link_increment, now))
            results = await self._insert_results(conn, tenant_id, write.memories, existing, landed)
            return LearnOutcome(
                results=results,
                new_concepts=[k for k in keys if k not in known],
                links_created=sum(1 for p in pairs if p not in linked),
            )

        return await self._run(work, write=True)

    async def update_memory(
        self, tenant_id: str, memory_id: str, changes: MemoryChanges, now: datetime
    ) -> MemoryRecord | None:
        async def work(conn: AsyncConnection) -> MemoryRecord | None:
            rows = await fetch(
                conn,
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s AND id = %s AND {_LIVE} FOR UPDATE",
                (tenant_id, memory_id, _ts(now)),
            )
            if not rows:
                return None
            current = memory_from_row(rows[0])
            if changes.content is not None and changes.content_hash != current.content_hash:
                clash = await fetch(
                    conn,
                    "SELECT id FROM memories WHERE tenant_id = %s AND scope_key = %s AND content_hash = %s "
                    f"AND id <> %s AND {_LIVE}",
                    (tenant_id, current.scope_key, changes.content_hash, memory_id, _ts(now)),
                )
                if clash:
                    raise Conflict(f"memory {clash[0]['id']} already holds this content in the same scope")
                await self._remove_expired(conn, tenant_id, now)
                old_terms, new_terms = current.terms, (changes.search_terms or "").split()
                deltas: Counter[str] = Counter()
                for term in set(old_terms):
                    deltas[term] -= 1
                for term in set(new_terms):
                    deltas[term] += 1
                await self._apply_term_deltas(conn, tenant_id, deltas, 0, len(new_terms) - len(old_terms))
                current.content, current.content_hash = changes.content, changes.content_hash or ""
                current.search_terms = changes.search_terms or ""
            if changes.role is not None:
                current.role = changes.role
            if changes.metadata is not None:
                current.metadata = _sorted_json(changes.metadata)
            if changes.clear_expiry:
                current.expires_at = None
            elif changes.expires_at is not None:
                current.expires_at = changes.expires_at
            current.updated_at = now
            await conn.execute(
                "UPDATE memories SET content = %s, content_hash = %s, search_terms = %s, role = %s, "
                "metadata = %s::jsonb, expires_at = %s, updated_at = %s WHERE tenant_id = %s AND id = %s",
                (
                    current.content,
                    current.content_hash,
                    current.search_terms,
                    current.role,
                    _json(current.metadata),
                    _opt_ts(current.expires_at),
                    _ts(now),
                    tenant_id,
                    memory_id,
                ),
            )
            return current

        return await self._run(work, write=True)

    async def delete_memory(self, tenant_id: str, memory_id: str) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            rows = await fetch(
                conn,
                "DELETE FROM memories WHERE tenant_id = %s AND id = %s RETURNING search_terms",
                (tenant_id, memory_id),
            )
            if rows:
                await self._forget_rows(conn, tenant_id, rows)
            return bool(rows)

        return await self._run(work, write=True)

    async def purge_expired(self, now: datetime) -> int:
        async def work(conn: AsyncConnection) -> int:
            rows = await fetch(
                conn,
                "DELETE FROM memories WHERE expires_at IS NOT NULL AND expires_at <= %s "
                "RETURNING tenant_id, search_terms",
                (_ts(now),),
            )
            by_tenant: dict[str, list[Row]] = {}
            for row in rows:
                by_tenant.setdefault(row["tenant_id"], []).append(row)
            for tenant_id in sorted(by_tenant):
                await self._forget_rows(conn, tenant_id, by_tenant[tenant_id])
            return len(rows)

        return await self._run(work, write=True)

    # ---- reads ----------------------------------------------------------------------

    async def get_memory(self, tenant_id: str, memory_id: str, now: datetime) -> MemoryRecord | None:
        async def work(conn: AsyncConnection) -> MemoryRecord | None:
            rows = await fetch(
                conn,
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s AND id = %s AND {_LIVE}",
                (tenant_id, memory_id, _ts(now)),
            )
            return memory_from_row(rows[0]) if rows else None

        return await self._run(work)

    async def list_memories(
        self,
        tenant_id: str,
        filters: MemoryFilters,
        *,
        before_id: str | None,
        limit: int,
        now: datetime,
    ) -> list[MemoryRecord]:
        where, params = filter_clause(filters)
        if before_id is not None:
            where += " AND id < %s"
            params.append(before_id)

        async def work(conn: AsyncConnection) -> list[MemoryRecord]:
            rows = await fetch(
                conn,
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s AND {_LIVE}{where} "
                "ORDER BY id DESC LIMIT %s",
                (tenant_id, _ts(now), *params, limit),
            )
            return [memory_from_row(r) for r in rows]

        return await self._run(work)

    async def neighbours(
        self, tenant_id: str, memory: MemoryRecord, *, window: int, now: datetime
    ) -> list[MemoryRecord]:
        scope_column, scope_value = (
            ("session_id", memory.session_id) if memory.session_id else ("instance_id", memory.instance_id)
        )
        if scope_value is None:
            return []

        async def work(conn: AsyncConnection) -> list[MemoryRecord]:
            rows = await fetch(
                conn,
                f"(SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s AND {scope_column} = %s "
                f"AND id < %s AND {_LIVE} ORDER BY id DESC LIMIT %s) "
                f"UNION ALL (SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s "
                f"AND {scope_column} = %s AND id > %s AND {_LIVE} ORDER BY id LIMIT %s)",
                (
                    tenant_id,
                    scope_value,
                    memory.id,
                    _ts(now),
                    window,
                    tenant_id,
                    scope_value,
                    memory.id,
                    _ts(now),
                    window,
                ),
            )
            return sorted((memory_from_row(r) for r in rows), key=lambda m: m.id)

        return await self._run(work)

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
        if window <= 0:
            return {}
        where, params = filter_clause(filters, prefix="q.")
        columns = ", ".join(f"q.{c.strip()}" for c in MEMORY_COLUMNS.split(","))
        groups = {
            "session_id": [(m.id, m.session_id) for m in memories if m.session_id],
            "instance_id": [(m.id, m.instance_id) for m in memories if m.session_id is None and m.instance_id],
        }

        async def work(conn: AsyncConnection) -> dict[str, list[MemoryRecord]]:
            found: dict[str, list[MemoryRecord]] = {}
            for column, anchors in groups.items():
                if not anchors:
                    continue
                side = (
                    f"(SELECT {columns} FROM memories q WHERE q.tenant_id = %s AND q.{column} = a.scope "
                    f"AND q.id {{op}} a.anchor AND (q.expires_at IS NULL OR q.expires_at > %s){where} "
                    "ORDER BY q.id {order} LIMIT %s)"
                )
                one = (tenant_id, _ts(now), *params, window)
                rows = await fetch(
                    conn,
                    "SELECT a.anchor AS _anchor, n.* FROM unnest(%s::text[], %s::text[]) AS a(anchor, scope) "
                    f"CROSS JOIN LATERAL ({side.format(op='<', order='DESC')} UNION ALL "
                    f"{side.format(op='>', order='ASC')}) n",
                    ([a for a, _ in anchors], [v for _, v in anchors], *one, *one),
                )
                for row in rows:
                    found.setdefault(row["_anchor"], []).append(memory_from_row(row))
            for records in found.values():
                records.sort(key=lambda m: m.id)
            return found

        return await self._run(work)

    # ---- concept graph --------------------------------------------------------------

    async def find_entities(self, tenant_id: str, keys: Sequence[str]) -> list[EntityRecord]:
        if not keys:
            return []

        async def work(conn: AsyncConnection) -> list[EntityRecord]:
            rows = await fetch(
                conn,
                "SELECT * FROM entities WHERE tenant_id = %s AND name_key = ANY(%s::text[]) ORDER BY name_key",
                (tenant_id, list(keys)),
            )
            return [_entity_from_row(r) for r in rows]

        return await self._run(work)

    async def similar_entities(self, tenant_id: str, text: str, *, limit: int = 5) -> list[EntityRecord]:
        """Entities whose name is most like `text` (pg_trgm similarity), best first.
        Empty where pg_trgm is not installed: a hint, never a substitute for exact lookup."""
        if "trigram" not in await self.features():
            return []

        async def work(conn: AsyncConnection) -> list[EntityRecord]:
            rows = await fetch(
                conn,
                "SELECT * FROM entities WHERE tenant_id = %s AND name_key %% %s "
                "ORDER BY similarity(name_key, %s) DESC, mention_count DESC, name_key LIMIT %s",
                (tenant_id, text.casefold(), text.casefold(), limit),
            )
            return [_entity_from_row(r) for r in rows]

        return await self._run(work)

    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> list[EntityRecord]:
        where, params = ("", []) if entity_type is None else (" AND entity_type = %s", [entity_type])

        async def work(conn: AsyncConnection) -> list[EntityRecord]:
            rows = await fetch(
                conn,
                f"SELECT * FROM entities WHERE tenant_id = %s{where} "
                "ORDER BY mention_count DESC, name_key LIMIT %s OFFSET %s",
                (tenant_id, *params, limit, offset),
            )
            return [_entity_from_row(r) for r in rows]

        return await self._run(work)

    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]:
        if not keys:
            return []

        async def work(conn: AsyncConnection) -> list[LinkRecord]:
            rows = await fetch(
                conn,
                "SELECT * FROM attention_links WHERE tenant_id = %s "
                "AND (concept_a = ANY(%s::text[]) OR concept_b = ANY(%s::text[])) "
                "ORDER BY strength DESC, concept_a, concept_b LIMIT %s",
                (tenant_id, list(keys), list(keys), limit),
            )
            return [_link_from_row(r) for r in rows]

        return await self._run(work)

    @staticmethod
    async def _counts(conn: AsyncConnection, tenant_id: str) -> TenantCounts:
        rows = await fetch(
            conn,
            "SELECT "
            "(SELECT count(*) FROM entities WHERE tenant_id = %s) AS entities, "
            "(SELECT count(*) FROM auto_messages WHERE tenant_id = %s) AS messages, "
            "(SELECT count(*) FROM decisions WHERE tenant_id = %s) AS decisions, "
            "(SELECT count(*) FROM attention_links WHERE tenant_id = %s) AS attention_links, "
            "(SELECT count(*) FROM memories WHERE tenant_id = %s) AS memories",
            (tenant_id,) * 5,
        )
        return TenantCounts(**{k: int(v) for k, v in rows[0].items()})

    async def counts(self, tenant_id: str) -> TenantCounts:
        async def work(conn: AsyncConnection) -> TenantCounts:
            return await self._counts(conn, tenant_id)

        return await self._run(work)

    # ---- export / import ------------------------------------------------------------

    _EXPORT_QUERIES = {
        "memory": ("memories", "id", MEMORY_COLUMNS, memory_from_row),
        "message": ("auto_messages", "id", "*", _message_from_row),
        "decision": ("decisions", "id", "*", _decision_from_row),
        "entity": ("entities", "name_key", "*", _entity_from_row),
        "link": ("attention_links", '(concept_a || chr(31) || concept_b) COLLATE "C"', "*", _link_from_row),
    }

    async def export_page(self, tenant_id: str, kind: str, *, after: str | None, limit: int) -> ExportPage:
        table, order_key, columns, convert = self._EXPORT_QUERIES[kind]
        where, params = ("", []) if after is None else (f" AND {order_key} > %s", [after])

        async def work(conn: AsyncConnection) -> list[Row]:
            return await fetch(
                conn,
                f"SELECT {columns}, {order_key} AS _cursor FROM {table} WHERE tenant_id = %s{where} "
                f"ORDER BY {order_key} LIMIT %s",
                (tenant_id, *params, limit),
            )

        rows = await self._run(work)
        next_after = rows[-1]["_cursor"] if len(rows) == limit else None
        return ExportPage(kind=kind, rows=[convert(r) for r in rows], next_after=next_after)

    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None:
        """Write exported messages, decisions, entities or links (memories go through
        insert_memories); existing rows with the same identity are kept or replaced."""
        statement, values = _import_statement(kind)
        params = [values(tenant_id, row) for row in rows]
        if not params:
            return

        async def work(conn: AsyncConnection) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(statement, params)

        await self._run(work, write=True)


def _import_statement(kind: str) -> tuple[str, Callable[[str, Any], tuple[Any, ...]]]:
    if kind == "message":
        return (
            "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
            "thinking, metadata, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s) ON CONFLICT DO NOTHING",
            lambda tenant_id, row: (
                row.id,
                tenant_id,
                row.instance_id,
                row.session_id,
                row.user_message,
                row.ai_response,
                row.thinking,
                _json(row.metadata),
                _ts(row.created_at),
            ),
        )
    if kind == "decision":
        return (
            "INSERT INTO decisions (id, tenant_id, instance_id, session_id, message_id, decision, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            lambda tenant_id, row: (
                row.id,
                tenant_id,
                row.instance_id,
                row.session_id,
                row.message_id,
                row.decision,
                _ts(row.created_at),
            ),
        )
    if kind == "entity":
        return (
            "INSERT INTO entities (tenant_id, name_key, name, entity_type, description, mention_count, "
            "created_at, last_seen_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, name_key) "
            "DO UPDATE SET name = EXCLUDED.name, entity_type = EXCLUDED.entity_type, "
            "description = EXCLUDED.description, mention_count = EXCLUDED.mention_count, "
            "created_at = EXCLUDED.created_at, last_seen_at = EXCLUDED.last_seen_at",
            lambda tenant_id, row: (
                tenant_id,
                row.key,
                row.name,
                row.entity_type,
                row.description,
                row.mention_count,
                _ts(row.created_at),
                _ts(row.last_seen_at),
            ),
        )
    if kind == "link":
        return (
            "INSERT INTO attention_links (tenant_id, concept_a, concept_b, strength, occurrences, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, concept_a, concept_b) "
            "DO UPDATE SET strength = EXCLUDED.strength, occurrences = EXCLUDED.occurrences, "
            "created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at",
            lambda tenant_id, row: (
                tenant_id,
                row.concept_a,
                row.concept_b,
                row.strength,
                row.occurrences,
                _ts(row.created_at),
                _ts(row.updated_at),
            ),
        )
    raise ValueError(f"unknown export kind {kind!r}")
