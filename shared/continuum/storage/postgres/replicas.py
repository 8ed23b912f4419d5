"""Streaming replicas for reads (POSTGRES_READ_URLS), without giving up read-your-writes.

A tenant's read goes to a replica only when that replica
1. answered its last check (down or not in recovery: skipped, re-probed every
   PROBE_INTERVAL seconds, circuit-breaker style);
2. is provably at most POSTGRES_READ_MAX_LAG seconds behind: it has replayed a WAL
   position the primary had reached at most that long ago (`safe_at`, below);
3. has replayed past the end of the tenant's last acknowledged write (its LSN, kept by
   `positions`: in this process, or in Redis for every instance).
Otherwise the read goes to the primary. Replay positions only grow, so a position read a
moment ago is a safe lower bound: checks are cached and refreshed in the background every
POSTGRES_READ_CHECK_INTERVAL seconds, never on the read's path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from continuum.storage.postgres.connect import PROBE_INTERVAL, PoolSource, SingleSource, describe
from continuum.storage.postgres.positions import PositionsUnavailable, WritePositions, parse_lsn

log = logging.getLogger("continuum.storage.postgres")

CHECK_TIMEOUT = 2.0
SAMPLES = 4096  # primary positions remembered, to date what a replica has replayed


@dataclass
class Replica:
    name: str  # host:port/database, never the password
    source: PoolSource | SingleSource
    up: bool = False
    error: str | None = "not checked yet"
    replay_lsn: int = 0
    safe_at: float | None = None  # monotonic time: everything committed before it is replayed here
    lag_bytes: int | None = None
    next_probe: float = 0.0
    reads: int = 0  # reads this process served here
    fallbacks: int = 0  # reads that failed here and went to the primary

    def lag_seconds(self, now: float) -> float | None:
        return None if self.safe_at is None else max(0.0, now - self.safe_at)

    def report(self, now: float) -> dict[str, object]:
        lag = self.lag_seconds(now)
        return {
            "name": self.name, "status": "up" if self.up else "down",
            "lag_seconds": None if lag is None else round(lag, 3), "lag_bytes": self.lag_bytes,
            "replay_lsn": self.replay_lsn, "reads": self.reads, "fallbacks": self.fallbacks, "error": self.error,
        }  # fmt: skip


def replica_name(conninfo: str) -> str:
    params = conninfo_to_dict(conninfo)
    return f"{params.get('host', 'localhost')}:{params.get('port', '5432')}/{params.get('dbname', '')}"


@dataclass
class ReplicaSet:
    replicas: list[Replica]
    positions: WritePositions
    primary_lsn: Callable[[], Awaitable[int]]
    max_lag: float
    check_interval: float
    checked_at: float = -1e9
    _samples: collections.deque[tuple[float, int]] = field(default_factory=lambda: collections.deque(maxlen=SAMPLES))
    _task: asyncio.Task[None] | None = None
    _turn: Any = field(default_factory=itertools.count)
    primary_reads: int = 0  # tenant reads this process sent to the primary

    # ---- choosing ---------------------------------------------------------------------

    def _usable(self, now: float) -> list[Replica]:
        return [
            r for r in self.replicas
            if r.up and r.safe_at is not None and now - r.safe_at <= self.max_lag
        ]  # fmt: skip

    async def pick(self, tenant_id: str) -> Replica | None:
        """The replica to read `tenant_id` from, or None for the primary."""
        now = time.monotonic()
        if now - self.checked_at >= self.check_interval:
            self.kick()
        usable = self._usable(now)
        if not usable:
            self.primary_reads += 1
            return None
        try:
            needed = await self.positions.get(tenant_id)
        except PositionsUnavailable:
            self.primary_reads += 1
            return None
        if needed is not None:
            usable = [r for r in usable if r.replay_lsn >= needed]
            if not usable:
                self.primary_reads += 1
                return None
        return usable[next(self._turn) % len(usable)]

    # ---- checking ---------------------------------------------------------------------

    def kick(self) -> None:
        """Start a check in the background unless one is running."""
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: the next read kicks it
                # A fresh context: the check must not inherit the read's routing.
                self._task = asyncio.get_running_loop().create_task(self.check(), context=contextvars.Context())

    async def check(self) -> None:
        """Sample the primary's position, then each replica's replay position."""
        started = time.monotonic()
        try:
            self._samples.append((started, await self.primary_lsn()))
        except Exception as exc:
            log.debug("primary position unavailable", extra={"error": describe(exc)})
        await asyncio.gather(*(self._check_one(r) for r in self.replicas))
        self.checked_at = time.monotonic()

    async def _check_one(self, replica: Replica) -> None:
        now = time.monotonic()
        if not replica.up and now < replica.next_probe:
            return
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), replica.source.connection() as conn:
                cur = await conn.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
                row = await cur.fetchone()
        except Exception as exc:
            await self.mark_down(replica, exc)
            return
        assert row is not None
        in_recovery, replayed = row
        if not in_recovery or replayed is None:
            replica.up, replica.error = False, "not a streaming standby (not in recovery)"
            replica.next_probe = time.monotonic() + PROBE_INTERVAL
            return
        lsn = parse_lsn(replayed)
        replica.replay_lsn = max(replica.replay_lsn, lsn)
        for at, position in reversed(self._samples):  # newest sample it has replayed
            if position <= replica.replay_lsn:
                replica.safe_at = max(replica.safe_at or at, at)
                break
        if self._samples:
            replica.lag_bytes = max(0, self._samples[-1][1] - replica.replay_lsn)
        if not replica.up:
            log.warning("read replica is usable", extra={"replica": replica.name})
        replica.up, replica.error = True, None

    async def mark_down(self, replica: Replica, exc: BaseException) -> None:
        if replica.up:
            log.warning("read replica is unreachable", extra={"replica": replica.name, "error": describe(exc)})
        replica.up, replica.error = False, describe(exc)
        replica.next_probe = time.monotonic() + PROBE_INTERVAL
        with contextlib.suppress(Exception):
            await replica.source.reset()

    # ---- lifecycle and reports ----------------------------------------------------------

    async def open(self) -> None:
        for replica in self.replicas:
            await replica.source.open()
        await self.check()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        for replica in self.replicas:
            with contextlib.suppress(Exception):
                await replica.source.close()
        await self.positions.close()

    def report(self) -> list[dict[str, object]]:
        now = time.monotonic()
        return [r.report(now) for r in self.replicas]
