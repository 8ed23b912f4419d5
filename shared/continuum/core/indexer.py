"""Embedding memories once, in batches, without holding up the write that stored them.

Two ways to run, chosen by CONTINUUM_EMBEDDING_WRITE:

- background (the server's default): the write is acknowledged as soon as the rows
  are stored; a single worker task embeds queued memories in batches (across
  requests) and stores the vectors. Until then the memories are found lexically.
  Each batch takes the CPU the machine has free (CpuShare: all cores when idle, one
  under load) at low priority, so requests go first whatever the share.
- inline (serverless, where nothing runs after the response): the request embeds
  its own memories in one batch after storing them. A failure of the provider is
  logged and never fails the write.

Vectors are computed once per memory and model; a content change drops the vector
(a database trigger) and the engine submits the memory again. Memories that lack a
vector (a crash, an import, a provider outage, a model change) are back-filled the
first time this process sees their tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from continuum.clock import Clock
from continuum.core.crypto import ContentCipher
from continuum.models import EmbeddingRecord, MemoryRecord
from continuum.ports import Embedder, Storage
from continuum.vectors import pack

log = logging.getLogger("continuum.embeddings")

BATCH_SIZE = 256  # the local model sorts a batch by length: big batches pad less
BACKFILL_BATCH = 256
CLOSE_GRACE = 5.0
# CPU share: a window older than this says little about now, so a fresh one is measured.
SHARE_WINDOW_MAX = 5.0
SHARE_PROBE = 0.2


class CpuSample(NamedTuple):
    """Cumulative seconds at one instant: wall clock, the machine's busy CPU time (all
    cores), and this process's own CPU time."""

    wall: float
    machine_busy: float
    own: float


def read_cpu_sample() -> CpuSample | None:
    """From /proc/stat (Linux); None where there is no such file (then the share is fixed)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    busy = sum(ticks[:8]) - idle  # user nice system idle iowait irq softirq steal
    hertz = os.sysconf("SC_CLK_TCK")
    own = os.times()
    return CpuSample(time.monotonic(), busy / hertz, own.user + own.system)


class CpuShare:
    """How many cores the next background batch may use: the machine's cores minus what
    other processes used since the last batch (or over a short probe when that is stale).
    This process's own use (the previous batch, requests) does not count against it: the
    embedding runs at a lower priority than requests, which take the CPU back when they need it."""

    def __init__(
        self,
        cpus: int | None = None,
        sample: Callable[[], CpuSample | None] = read_cpu_sample,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.cpus = max(1, cpus or os.cpu_count() or 1)
        self.sample = sample
        self.sleep = sleep
        self._last: CpuSample | None = None
        self.others = 0.0  # cores the other processes used in the last window

    async def threads(self) -> int | None:
        """Threads for the next batch (1 to cpus); None where the load cannot be read."""
        last = self._last
        now = self.sample()
        if now is None:
            return None
        if last is None or now.wall - last.wall > SHARE_WINDOW_MAX or now.wall <= last.wall:
            await self.sleep(SHARE_PROBE)
            last, now = now, self.sample()
            if now is None or now.wall <= last.wall:
                return None
        self._last = now
        window = now.wall - last.wall
        used = (now.machine_busy - last.machine_busy) - (now.own - last.own)
        self.others = min(float(self.cpus), max(0.0, used / window))
        return max(1, min(self.cpus, round(self.cpus - self.others)))


@dataclass
class _Job:
    tenant_id: str
    memory: MemoryRecord


class EmbeddingIndexer:
    def __init__(
        self,
        storage: Storage,
        embedder: Embedder,
        cipher: ContentCipher,
        clock: Clock,
        *,
        background: bool,
        batch_size: int = BATCH_SIZE,
        on_indexed: Callable[[str], Awaitable[None]] | None = None,
        share: CpuShare | None = None,
    ) -> None:
        self.storage = storage
        self.embedder = embedder
        self.cipher = cipher
        self.clock = clock
        self.background = background
        self.batch_size = batch_size
        self.on_indexed = on_indexed
        self.share = share or CpuShare()
        self.threads_used: dict[int | None, int] = {}  # background batches by thread count
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._checked: set[str] = set()
        self._backfills: set[asyncio.Task[None]] = set()
        self.embedded = 0
        self.failures = 0

    # ---- entry points -----------------------------------------------------------------

    async def submit(self, tenant_id: str, memories: Sequence[MemoryRecord]) -> None:
        """Memories just stored (or whose content changed): embed them once."""
        if not memories:
            return
        if not self.background:
            stored = await self._index(tenant_id, list(memories))
            if stored and tenant_id not in self._checked:  # first write here: catch up a little
                self._checked.add(tenant_id)
                await self.backfill(tenant_id, limit=self.batch_size)
            return
        queue = self._ensure_worker()
        for memory in memories:
            queue.put_nowait(_Job(tenant_id, memory))

    def touch(self, tenant_id: str) -> None:
        """First sight of a tenant in this process: back-fill its missing vectors."""
        if tenant_id in self._checked or not self.background:
            return
        self._checked.add(tenant_id)
        task = asyncio.ensure_future(self._backfill(tenant_id))
        self._backfills.add(task)
        task.add_done_callback(self._backfills.discard)

    async def backfill(self, tenant_id: str, *, limit: int | None = None) -> int:
        """Embed the tenant's memories that have no vector for this model; returns how many."""
        done = 0
        while limit is None or done < limit:
            size = BACKFILL_BATCH if limit is None else min(BACKFILL_BATCH, limit - done)
            missing = await self.storage.missing_embeddings(
                tenant_id, model=self.embedder.name, limit=size, now=self.clock.now()
            )
            if not missing:
                break
            stored = await self._index(tenant_id, missing)
            done += len(missing)
            if not stored:
                break  # the provider failed: try again on a later access
        return done

    async def drain(self) -> None:
        """Wait until everything submitted so far has been embedded (tests, benchmarks)."""
        if self._backfills:
            await asyncio.gather(*list(self._backfills), return_exceptions=True)
        if self._queue is not None:
            await self._queue.join()

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def close(self) -> None:
        """Finish queued work for up to CLOSE_GRACE seconds; the rest is back-filled later."""
        if self._queue is not None and self._worker is not None and not self._worker.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), CLOSE_GRACE)
        for task in [self._worker, *self._backfills]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._worker = None
        close = getattr(self.embedder, "close", None)
        if close is not None:
            await close()

    # ---- work ------------------------------------------------------------------------

    def _ensure_worker(self) -> asyncio.Queue[_Job]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._run(self._queue))
        return self._queue

    async def _run(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            jobs = [await queue.get()]
            while len(jobs) < self.batch_size and not queue.empty():
                jobs.append(queue.get_nowait())
            try:
                by_tenant: dict[str, list[MemoryRecord]] = {}
                for job in jobs:
                    by_tenant.setdefault(job.tenant_id, []).append(job.memory)
                await self._index_many(by_tenant)
            except Exception:  # the worker must outlive any one batch
                log.exception("embedding batch failed")
            finally:
                for _ in jobs:
                    queue.task_done()

    async def _backfill(self, tenant_id: str) -> None:
        try:
            await self.backfill(tenant_id)
        except Exception:
            log.exception("embedding back-fill failed", extra={"tenant_id": tenant_id})
            self._checked.discard(tenant_id)

    async def _index(self, tenant_id: str, memories: list[MemoryRecord]) -> int:
        return await self._index_many({tenant_id: memories})

    async def _index_many(self, by_tenant: dict[str, list[MemoryRecord]]) -> int:
        """One embedding call for all the texts; vectors stored per tenant."""
        pairs = [(tenant, memory) for tenant, memories in by_tenant.items() for memory in memories]
        texts = [self.cipher.decrypt(memory.content) for _, memory in pairs]
        # A provider may offer a bulk path that yields the CPU to requests (the local model):
        # `embed_background(texts, threads=N)`, N from the free CPU (None: its own default).
        bulk = getattr(self.embedder, "embed_background", None) if self.background else None
        try:
            if bulk is not None:
                threads = await self.share.threads()
                self.threads_used[threads] = self.threads_used.get(threads, 0) + 1
                vectors = await bulk(texts, threads=threads)
            else:
                vectors = await self.embedder.embed(texts)
        except Exception as exc:
            self.failures += 1
            log.warning(
                "embedding failed; the memories stay searchable lexically",
                extra={"error": str(exc), "count": len(texts)},
            )
            for tenant in by_tenant:
                self._checked.discard(tenant)  # retry on the tenant's next access
            return 0
        now = self.clock.now()
        records: dict[str, list[EmbeddingRecord]] = {}
        for (tenant, memory), vector in zip(pairs, vectors, strict=True):
            records.setdefault(tenant, []).append(
                EmbeddingRecord(
                    memory_id=memory.id,
                    model=self.embedder.name,
                    content_hash=memory.content_hash,
                    vector=pack(vector),
                    created_at=now,
                )
            )
        for tenant, items in records.items():
            await self.storage.put_embeddings(tenant, items)
            if self.on_indexed is not None:
                await self.on_indexed(tenant)
        self.embedded += len(pairs)
        return len(pairs)
