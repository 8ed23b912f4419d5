"""The embedding indexer: memories embedded once, inline or in the background; a
provider failure never fails the write that stored them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from continuum.clock import ManualClock
from continuum.core.crypto import ContentCipher
from continuum.core.indexer import EmbeddingIndexer
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
