"""Running work on PostgreSQL: one connection source (a pool, or one connection per warm
serverless instance) behind a `Gate`, shared by every component of the adapter.

Every write is one real transaction. Statements are never prepared on the server and
no session state is used, so the adapter works through transaction-mode poolers.
A lost connection before COMMIT is retried once on a fresh connection; deadlocks and
serialization failures are retried; an unreachable server becomes
`DependencyUnavailable` (HTTP 503 + Retry-After) and the adapter recovers by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

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

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[T]]
Part = tuple[str, list[Any]]


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

    async def close(self) -> None:
        await self.source.close()

    async def run(self, work: Work[T], *, write: bool = False) -> T:
        """Run `work` on a connection (in one transaction when `write`), translating
        failures: retry what is safe to retry, 503 when the server is unreachable."""
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
