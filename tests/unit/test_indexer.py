"""The embedding indexer: memories embedded once, inline or in the background; a
provider failure never fails the write that stored them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from continuum.clock import ManualClock
from continuum.core.crypto import ContentCipher
from continuum.core.indexer import CpuSample, CpuShare, EmbeddingIndexer, read_cpu_sample
from continuum.core.records import Records
from continuum.ids import IdGenerator
from continuum.storage.sqlite import SqliteStorage


class Embedder:
    name = "fake"
    dimensions = 2

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.batches: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.fail:
            raise RuntimeError("provider down")
        self.batches.append(list(texts))
        return [[1.0, 0.0] for _ in texts]


@pytest.fixture
async def storage(tmp_path):
    store = SqliteStorage(str(tmp_path / "i.db"))
    await store.migrate()
    yield store
    await store.close()


async def _stored(storage, clock, texts: list[str]):
    records = Records(ContentCipher(None), IdGenerator())
    memories = [records.new_memory("t", text, role="user", instance_id=None, session_id=None, metadata={},
                                   now=clock.now()) for text in texts]  # fmt: skip
    await storage.ensure_tenant("t", None, clock.now())
    await storage.insert_memories("t", memories, clock.now())
    return memories


@pytest.mark.parametrize("background", [False, True])
async def test_stored_memories_are_embedded_once_and_announced(storage, background):
    clock, embedder, indexed = ManualClock(), Embedder(), []

    async def on_indexed(tenant_id: str) -> None:
        indexed.append(tenant_id)

    indexer = EmbeddingIndexer(storage, embedder, ContentCipher(None), clock, background=background,
                               on_indexed=on_indexed)  # fmt: skip
    memories = await _stored(storage, clock, ["Orion runs on Kafka", "Zeus hosts Kafka"])
    await indexer.submit("t", memories)
    await indexer.drain()
    assert embedder.batches == [["Orion runs on Kafka", "Zeus hosts Kafka"]]
    assert set(await storage.get_embeddings("t", [m.id for m in memories], model="fake")) == {m.id for m in memories}
    assert indexed == ["t"] and indexer.embedded == 2
    await indexer.close()


async def test_a_provider_failure_is_counted_and_back_filled_later(storage):
    clock, embedder = ManualClock(), Embedder(fail=True)
    indexer = EmbeddingIndexer(storage, embedder, ContentCipher(None), clock, background=False)
    memories = await _stored(storage, clock, ["Orion runs on Kafka"])
    await indexer.submit("t", memories)
    assert indexer.failures == 1 and indexer.embedded == 0
    embedder.fail = False
    assert await indexer.backfill("t") == 1
    assert embedder.batches == [["Orion runs on Kafka"]]


# ---- the background batches take the CPU the machine has free ------------------------------


class Machine:
    """A scripted /proc/stat: each sample advances the clock; others' and our CPU use per second."""

    def __init__(self, cpus: int) -> None:
        self.cpus = cpus
        self.wall = self.busy = self.own = 0.0
        self.others = self.ours = 0.0  # cores in use

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.busy += (self.others + self.ours) * seconds
        self.own += self.ours * seconds

    def sample(self) -> CpuSample:
        return CpuSample(self.wall, self.busy, self.own)


def _share(machine: Machine) -> tuple[CpuShare, list[float]]:
    probes: list[float] = []

    async def sleep(seconds: float) -> None:
        probes.append(seconds)
        machine.advance(seconds)

    return CpuShare(machine.cpus, machine.sample, sleep), probes


async def test_an_idle_machine_gives_every_core_and_a_loaded_one_a_single_core():
    machine = Machine(cpus=4)
    share, probes = _share(machine)
    assert await share.threads() == 4 and len(probes) == 1  # no history yet: a short probe
    machine.others, machine.ours = 0.0, 4.0  # our own batch used every core: not a load
    machine.advance(2.0)
    assert await share.threads() == 4 and len(probes) == 1  # the window since the last batch
    machine.others, machine.ours = 2.1, 1.9  # other processes take two cores
    machine.advance(2.0)
    assert await share.threads() == 2
    machine.others, machine.ours = 4.0, 0.0  # a CPU burner on every core
    machine.advance(2.0)
    assert await share.threads() == 1 and share.others == 4.0
    machine.others = 0.0
    machine.advance(60.0)  # a long pause: that window is stale, measure now
    assert await share.threads() == 4 and len(probes) == 2


async def test_no_cpu_figures_keep_the_providers_default():
    share = CpuShare(2, lambda: None)
    assert await share.threads() is None
    sample = read_cpu_sample()  # this machine's /proc/stat, when it has one
    assert sample is None or (sample.machine_busy >= 0 and sample.own > 0)


class BulkEmbedder(Embedder):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int | None] = []

    async def embed_background(self, texts: Sequence[str], *, threads: int | None = None) -> list[list[float]]:
        self.threads.append(threads)
        return await self.embed(texts)


async def test_background_batches_get_the_free_cores(storage):
    clock, embedder, machine = ManualClock(), BulkEmbedder(), Machine(cpus=2)
    share, _ = _share(machine)
    indexer = EmbeddingIndexer(storage, embedder, ContentCipher(None), clock, background=True, batch_size=1,
                               share=share)  # fmt: skip
    first = await _stored(storage, clock, ["Orion runs on Kafka"])
    await indexer.submit("t", first)
    await indexer.drain()
    machine.others = 2.0
    machine.advance(1.0)
    second = await _stored(storage, clock, ["Zeus hosts Kafka"])
    await indexer.submit("t", second)
    await indexer.drain()
    assert embedder.threads == [2, 1] and indexer.threads_used == {2: 1, 1: 1}
    assert embedder.batches == [["Orion runs on Kafka"], ["Zeus hosts Kafka"]]
    await indexer.close()


async def test_inline_indexing_never_waits_for_a_cpu_probe(storage):
    clock, embedder = ManualClock(), BulkEmbedder()

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("inline writes must not probe the CPU")

    share = CpuShare(2, lambda: CpuSample(0.0, 0.0, 0.0), no_sleep)
    indexer = EmbeddingIndexer(storage, embedder, ContentCipher(None), clock, background=False, share=share)
    await indexer.submit("t", await _stored(storage, clock, ["Orion runs on Kafka"]))
    assert embedder.threads == [] and indexer.embedded == 1
