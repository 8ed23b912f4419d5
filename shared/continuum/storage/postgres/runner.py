"""Running work on PostgreSQL: one connection source (a pool, or one connection per warm
serverless instance) behind a `Gate`, shared by every component of the adapter.

Every write is one real transaction. Statements are never prepared on the server and
no session state is used, so the adapter works through transaction-mode poolers.
A lost connection before COMMIT is retried once on a fresh connection; deadlocks and
serialization failures are retried; an unreachable server becomes
`DependencyUnavailable` (HTTP 503 + Retry-After) and the adapter recovers by itself.

With read replicas (POSTGRES_READ_URLS), a read run while `READ_TENANT` names a tenant
may go to a replica (replicas.py decides); a replica that fails it hands it to the
primary. Everything else runs on the primary.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from continuum.errors import DependencyUnavailable
from continuum.settings import PostgresSettings, SettingsError
from continuum.storage.postgres.connect import (
    RETRY_AFTER,
    Gate,
    PoolExhausted,
    PoolSource,
    SingleSource,
    connection_settings,
    describe,
)
from continuum.storage.sql.dialect import Statement
from continuum.storage.sql.rows import Row

if TYPE_CHECKING:  # replicas.py and positions.py are imported only when replicas are configured
    from continuum.storage.postgres.replicas import Replica, ReplicaSet

log = logging.getLogger("continuum.storage.postgres")
T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[T]]
Part = tuple[str, list[Any]]

# The tenant whose read is running (set by PostgresStorage's read methods only).
READ_TENANT: ContextVar[str | None] = ContextVar("continuum_pg_read_tenant", default=None)
# A position outlives the largest lag a replica may have by this factor (and 60 s).
POSITION_TTL_FACTOR = 6


async def fetch(conn: AsyncConnection, query: str, params: Sequence[Any] = ()) -> list[Row]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


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


class PostgresRunner:
    """`serverless=True`: one reused connection per warm instance (AWS Lambda); otherwise
    a pool (POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW)."""

    def __init__(self, config: PostgresSettings, *, serverless: bool) -> None:
        if not config.url:
            raise SettingsError("PostgresStorage needs POSTGRES_URL")
        self._conninfo, self._kwargs = connection_settings(config.url)
        self.source: PoolSource | SingleSource
        if serverless:
            self.source = SingleSource(self._conninfo, self._kwargs)
        else:
            self.source = PoolSource(
                self._conninfo,
                self._kwargs,
                min_size=config.pool_size,
                max_size=config.pool_size + config.max_overflow,
            )
        self.gate = Gate(self._probe, self.source.reset)
        self.replicas = self._replica_set(config, serverless) if config.read_urls else None

    def _replica_set(self, config: PostgresSettings, serverless: bool) -> ReplicaSet:
        from continuum.storage.postgres.positions import MemoryPositions, RedisPositions, WritePositions
        from continuum.storage.postgres.replicas import Replica, ReplicaSet, replica_name

        ttl = max(60.0, config.read_max_lag * POSITION_TTL_FACTOR)
        positions: WritePositions = (
            RedisPositions(config.lsn_redis_url, prefix=config.lsn_prefix, ttl=ttl)
            if config.lsn_redis_url
            else MemoryPositions(ttl)
        )
        replicas = []
        for url in config.read_urls:
            conninfo, kwargs = connection_settings(url, application_name="continuum-read")
            source: PoolSource | SingleSource = (
                SingleSource(conninfo, kwargs)
                if serverless
                else PoolSource(
                    conninfo, kwargs, min_size=config.pool_size, max_size=config.pool_size + config.max_overflow
                )
            )
            replicas.append(Replica(name=replica_name(conninfo), source=source))
        return ReplicaSet(
            replicas, positions, self.primary_position, max_lag=config.read_max_lag,
            check_interval=config.read_check_interval,
        )  # fmt: skip

    async def primary_position(self) -> int:
        """Where the primary's WAL ends now: past every transaction committed before."""

        async def work(conn: AsyncConnection) -> list[Row]:
            return await fetch(conn, "SELECT pg_current_wal_insert_lsn()::text AS lsn")

        from continuum.storage.postgres.positions import parse_lsn, record_end

        rows = await self.run(work, primary=True)
        return record_end(parse_lsn(rows[0]["lsn"]))

    async def note_write(self, tenant_id: str) -> None:
        """After a tenant's write: remember where it ended, before it is acknowledged."""
        if self.replicas is None:
            return
        from continuum.storage.postgres.positions import UNKNOWN

        try:
            position = await self.primary_position()
        except Exception:  # unknown position: this tenant reads from the primary for a while
            position = UNKNOWN
        await self.replicas.positions.advance(tenant_id, position)

    async def _probe(self) -> None:
        conn = await AsyncConnection.connect(self._conninfo, **{**self._kwargs, "connect_timeout": 2})
        try:
            await conn.execute("SELECT 1")
        finally:
            await conn.close()

    async def connect(self) -> None:
        """Open the pool and check the server directly, so an unreachable database is
        reported within the probe's timeout rather than the pool's acquire timeout."""
        await self.source.open()
        await self.gate.enter()
        try:
            await self._probe()
        except Exception as exc:
            await self.gate.server_down(exc)
            raise self._unavailable() from None
        if self.replicas is not None:
            await self.replicas.open()  # a replica that is down is reported, never fatal

    async def close(self) -> None:
        if self.replicas is not None:
            await self.replicas.close()
        await self.source.close()

    async def run(self, work: Work[T], *, write: bool = False, primary: bool = False) -> T:
        """Run `work` on a connection (in one transaction when `write`), translating
        failures: retry what is safe to retry, 503 when the server is unreachable."""
        if not write and not primary and self.replicas is not None:
            tenant_id = READ_TENANT.get()
            if tenant_id is not None:
                replica = await self.replicas.pick(tenant_id)
                if replica is not None:
                    done, result = await self._on_replica(replica, work)
                    if done:
                        return result  # type: ignore[return-value]
        await self.gate.enter()
        attempt = 0
        while True:
            attempt += 1
            used: AsyncConnection | None = None
            reached_commit = False
            try:
                async with self.source.connection() as conn:
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
                    await self.source.refresh()
                    continue  # a stale connection (e.g. the server restarted): try a fresh one
                raise DependencyUnavailable(
                    f"database connection lost: {describe(exc)}", retry_after=RETRY_AFTER
                ) from None

    async def _on_replica(self, replica: Replica, work: Work[T]) -> tuple[bool, T | None]:
        """(True, result), or (False, None) when the replica could not answer it (the
        primary then does). A lost connection takes the replica out until it is re-probed;
        a statement it refused (e.g. cancelled by a recovery conflict) does not."""
        used: AsyncConnection | None = None
        try:
            async with replica.source.connection() as conn:
                used = conn
                result = await work(conn)
        except (psycopg.Error, OSError, PoolExhausted) as exc:
            replica.fallbacks += 1
            if used is None or used.closed or used.broken:
                await self.replicas.mark_down(replica, exc)  # type: ignore[union-attr]
            else:
                log.info("read replica refused a read", extra={"replica": replica.name, "error": describe(exc)})
            return False, None
        replica.reads += 1
        return True, result

    def _unavailable(self) -> DependencyUnavailable:
        return DependencyUnavailable(f"PostgreSQL is unreachable: {self.gate.last_error}", retry_after=RETRY_AFTER)

    # ---- the shared layer's Runner --------------------------------------------------

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async def work(conn: AsyncConnection) -> list[Row]:
            return await fetch(conn, sql, params)

        return await self.run(work)

    async def run_batch(self, statements: Sequence[Statement]) -> None:
        """The statements in one transaction."""

        async def work(conn: AsyncConnection) -> None:
            for sql, params in statements:
                await conn.execute(sql, params)

        await self.run(work, write=True)
