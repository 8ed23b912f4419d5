"""Connections to PostgreSQL for the storage adapter: where they come from, and what
happens when the server goes away.

Two sources, one interface:
- `PoolSource` (long-running servers): a psycopg_pool pool sized by POSTGRES_POOL_SIZE
  (kept open) + POSTGRES_MAX_OVERFLOW (opened under load).
- `SingleSource` (serverless: one request at a time per warm instance): one connection,
  opened lazily and reopened when it breaks.

Both run statements with `prepare_threshold=None` (never a server-side prepared
statement) and autocommit outside explicit transactions, so they are safe behind
PgBouncer, RDS Proxy, Neon or Supabase poolers in transaction mode.

`Gate` turns an outage into fast 503s: after a connection failure it probes the server
with a fresh connection; while the probe fails, requests are refused at once (no pool
wait), one probe runs at most every PROBE_INTERVAL seconds, and the first successful
probe replaces the pool so recovery never waits for a pool's reconnection back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from continuum.errors import DependencyUnavailable

if TYPE_CHECKING:  # psycopg_pool is imported only where a pool is built (not on Lambda)
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("continuum.storage.postgres")

CONNECT_TIMEOUT = 5  # seconds for a new connection (libpq connect_timeout), unless the URL says
PROBE_TIMEOUT = 2  # libpq's smallest useful connect_timeout
PROBE_INTERVAL = 1.0
ACQUIRE_TIMEOUT = 10.0  # waiting for a free pooled connection under load
RETRY_AFTER = 2


def connection_settings(url: str, *, application_name: str = "continuum") -> tuple[str, dict[str, Any]]:
    """(conninfo, connect kwargs) for a POSTGRES_URL, with our defaults where it sets none."""
    params = conninfo_to_dict(url)
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    params.setdefault("application_name", application_name)
    # A SQL_ASCII database would otherwise hand text back as bytes (psycopg cannot know its
    # encoding): keys would lose their scopes. UTF8 is a no-op on every UTF8 database.
    params.setdefault("client_encoding", "UTF8")
    return make_conninfo(**params), {"autocommit": True, "prepare_threshold": None}


class PoolExhausted(Exception):
    """No pooled connection became free (or could be opened) within ACQUIRE_TIMEOUT."""


def describe(exc: BaseException) -> str:
    """One line about a failure, without the connection string (it may hold a password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text[:300]


class PoolSource:
    def __init__(self, conninfo: str, kwargs: dict[str, Any], *, min_size: int, max_size: int) -> None:
        self.conninfo = conninfo
        self.kwargs = kwargs
        self.min_size = min_size
        self.max_size = max_size
        self._pool: AsyncConnectionPool | None = None

    def _new_pool(self) -> AsyncConnectionPool:
        from psycopg_pool import AsyncConnectionPool

        return AsyncConnectionPool(
            self.conninfo,
            kwargs=self.kwargs,
            min_size=self.min_size,
            max_size=self.max_size,
            open=False,
            timeout=ACQUIRE_TIMEOUT,
            reconnect_timeout=60.0,
            name="continuum",
        )

    async def open(self) -> None:
        if self._pool is None:
            self._pool = self._new_pool()
            await self._pool.open(wait=False)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        from psycopg_pool import PoolTimeout

        if self._pool is None:
            await self.open()
        assert self._pool is not None
        async with contextlib.AsyncExitStack() as stack:
            try:
                conn = await stack.enter_async_context(self._pool.connection())
            except PoolTimeout as exc:
                raise PoolExhausted(describe(exc)) from exc
            yield conn

    async def refresh(self) -> None:
        """Drop broken idle connections (e.g. after the server restarted)."""
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pool.check(), timeout=PROBE_TIMEOUT * 2)

    async def reset(self) -> None:
        """Start with a fresh pool (after an outage: no inherited reconnection back-off)."""
        old, self._pool = self._pool, None
        await self.open()
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close(timeout=1.0)

    async def close(self) -> None:
        old, self._pool = self._pool, None
        if old is not None:
            await old.close(timeout=5.0)


class SingleSource:
    """One reused connection per warm serverless instance; requests take turns on it."""

    def __init__(self, conninfo: str, kwargs: dict[str, Any]) -> None:
        self.conninfo = conninfo
        self.kwargs = kwargs
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        pass  # lazily, on first use

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            conn = self._conn
            if conn is None or conn.closed or conn.broken:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                self._conn = None
                conn = await AsyncConnection.connect(self.conninfo, **self.kwargs)
                self._conn = conn
            try:
                yield conn
            finally:
                if (
                    not conn.closed
                    and not conn.broken
                    and conn.info.transaction_status not in (psycopg.pq.TransactionStatus.IDLE,)
                ):
                    with contextlib.suppress(Exception):
                        await conn.rollback()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def refresh(self) -> None:
        await self._drop()

    async def reset(self) -> None:
        await self._drop()

    async def close(self) -> None:
        await self._drop()


class Gate:
    """Knows whether PostgreSQL is reachable; refuses fast while it is not."""

    def __init__(self, probe: Callable[[], Awaitable[None]], on_recovered: Callable[[], Awaitable[None]]) -> None:
        self._probe = probe
        self._on_recovered = on_recovered
        self.down_since: float | None = None
        self.last_error: str | None = None
        self._next_probe = 0.0
        self._lock = asyncio.Lock()

    def _refuse(self) -> DependencyUnavailable:
        down_for = time.monotonic() - (self.down_since or time.monotonic())
        return DependencyUnavailable(
            f"PostgreSQL is unreachable (for {down_for:.0f}s): {self.last_error}", retry_after=RETRY_AFTER
        )

    async def enter(self) -> None:
        """Pass when the server is believed up; while it is down, let one probe through."""
        if self.down_since is None:
            return
        if time.monotonic() < self._next_probe or self._lock.locked():
            raise self._refuse()
        async with self._lock:
            if self.down_since is None:
                return
            try:
                await self._probe()
            except Exception as exc:
                self.last_error = describe(exc)
                self._next_probe = time.monotonic() + PROBE_INTERVAL
                raise self._refuse() from None
            log.warning(
                "PostgreSQL is reachable again", extra={"down_seconds": round(time.monotonic() - self.down_since, 1)}
            )
            self.down_since = None
            await self._on_recovered()

    async def server_down(self, exc: BaseException) -> bool:
        """After a connection failure: probe, and remember an outage. True when down."""
        self.last_error = describe(exc)
        if self.down_since is not None:
            return True
        async with self._lock:
            if self.down_since is not None:
                return True
            try:
                await self._probe()
            except Exception as probe_exc:
                self.last_error = describe(probe_exc)
                self.down_since = time.monotonic()
                self._next_probe = self.down_since + PROBE_INTERVAL
                log.warning("PostgreSQL is unreachable", extra={"error": self.last_error})
                return True
        return False
