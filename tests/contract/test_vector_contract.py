"""Vectors through the Storage port: the same rules on every adapter (SQLite/D1 dialect,
PostgreSQL with bytea exact scans, PostgreSQL with pgvector's HNSW index)."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from continuum.models import EmbeddingRecord, MemoryChanges, MemoryFilters
from continuum.ports import Storage
from continuum.vectors import normalise, pack
from tests.contract.test_storage_contract import NOW, memory

pytestmark = pytest.mark.asyncio(loop_scope="session")

MODEL = "test/model-384"
DIMS = 384


def unit(seed: int) -> list[float]:
    rng = random.Random(seed)
    return normalise([rng.gauss(0.0, 1.0) for _ in range(DIMS)])


def blend(a: list[float], b: list[float], share: float) -> list[float]:
    return normalise([(1 - share) * x + share * y for x, y in zip(a, b, strict=True)])


def record(m, vector, model=MODEL, content_hash=None) -> EmbeddingRecord:
    return EmbeddingRecord(m.id, model, content_hash or m.content_hash, pack(vector), NOW)


async def test_vectors_round_trip_once_per_memory_and_model(storage: Storage, tenant: str) -> None:
    a, b = memory(tenant, "alpha"), memory(tenant, "beta")
    await storage.insert_memories(tenant, [a, b], NOW)
    await storage.put_embeddings(tenant, [record(a, unit(1)), record(b, unit(2))])
    got = await storage.get_embeddings(tenant, [a.id, b.id, "missing"], model=MODEL)
    assert got == {a.id: pack(unit(1)), b.id: pack(unit(2))}
    assert await storage.get_embeddings(tenant, [a.id], model="another/model") == {}
    # storing again replaces, never duplicates
    await storage.put_embeddings(tenant, [record(a, unit(3))])
    assert (await storage.get_embeddings(tenant, [a.id], model=MODEL))[a.id] == pack(unit(3))
    assert await storage.missing_embeddings(tenant, model=MODEL, limit=10, now=NOW) == []
    assert [m.id for m in await storage.missing_embeddings(tenant, model="another/model", limit=10, now=NOW)] == [
        a.id, b.id,
    ]  # fmt: skip


async def test_a_vector_for_gone_or_changed_content_is_not_kept(storage: Storage, tenant: str) -> None:
    a, b = memory(tenant, "one"), memory(tenant, "two")
    await storage.insert_memories(tenant, [a, b], NOW)
    # computed from content that has changed since: skipped
    await storage.put_embeddings(tenant, [record(a, unit(1), content_hash="stale"), record(b, unit(2))])
    assert set(await storage.get_embeddings(tenant, [a.id, b.id], model=MODEL)) == {b.id}
    # a content change drops the vector, so the memory is embedded again
    changes = MemoryChanges(content="two, edited", content_hash="h-two-edited", search_terms="two edit")
    await storage.update_memory(tenant, b.id, changes, NOW + timedelta(seconds=1))
    assert await storage.get_embeddings(tenant, [b.id], model=MODEL) == {}
    assert {m.id for m in await storage.missing_embeddings(tenant, model=MODEL, limit=10, now=NOW)} == {a.id, b.id}
    # a metadata-only change keeps it
    await storage.put_embeddings(tenant, [record(a, unit(1))])
    await storage.update_memory(tenant, a.id, MemoryChanges(metadata={"k": 1}), NOW + timedelta(seconds=2))
    assert set(await storage.get_embeddings(tenant, [a.id], model=MODEL)) == {a.id}
    # deleting the memory deletes its vector; a vector for a memory never stored is dropped
    await storage.delete_memory(tenant, a.id, NOW)
    ghost = memory(tenant, "never stored")
    await storage.put_embeddings(tenant, [record(ghost, unit(5))])
    assert await storage.get_embeddings(tenant, [a.id, ghost.id], model=MODEL) == {}


async def test_vector_candidates_are_nearest_first_within_filters(storage: Storage, tenant: str) -> None:
    target = unit(100)
    memories = [memory(tenant, f"memory {i}", session="s" if i % 2 else "t") for i in range(12)]
    await storage.insert_memories(tenant, memories, NOW)
    shares = [0.05 * i for i in range(12)]  # memory 0 is closest to the target, 11 the farthest
    pairs = enumerate(zip(memories, shares, strict=True))
    await storage.put_embeddings(tenant, [record(m, blend(target, unit(i), share)) for i, (m, share) in pairs])
    found = await storage.vector_candidates(
        tenant, pack(target), MemoryFilters(), model=MODEL, limit=5, scan_limit=1000, now=NOW
    )
    assert [m.id for m, _ in found] == [m.id for m in memories[:5]]
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True) and math.isclose(scores[0], 1.0, abs_tol=0.01)
    in_session = await storage.vector_candidates(
        tenant, pack(target), MemoryFilters(session_id="s"), model=MODEL, limit=3, scan_limit=1000, now=NOW
    )
    assert [m.id for m, _ in in_session] == [memories[1].id, memories[3].id, memories[5].id]
    assert await storage.vector_candidates(
        tenant, pack(target), MemoryFilters(), model="another/model", limit=3, scan_limit=1000, now=NOW
    ) == []


async def test_expired_memories_are_no_vector_candidates(storage: Storage, tenant: str) -> None:
    target = unit(7)
    live = memory(tenant, "live")
    dying = memory(tenant, "dying", expires=NOW + timedelta(minutes=1))
    await storage.insert_memories(tenant, [live, dying], NOW)
    await storage.put_embeddings(tenant, [record(dying, target), record(live, blend(target, unit(8), 0.5))])
    later = NOW + timedelta(minutes=2)
    found = await storage.vector_candidates(
        tenant, pack(target), MemoryFilters(), model=MODEL, limit=5, scan_limit=1000, now=later
    )
    assert [m.id for m, _ in found] == [live.id]
    assert [m.id for m in await storage.missing_embeddings(tenant, model="x", limit=5, now=later)] == [live.id]


async def test_vectors_never_cross_tenants(storage: Storage, tenant: str, other_tenant: str) -> None:
    mine = memory(tenant, "mine")
    await storage.insert_memories(tenant, [mine], NOW)
    await storage.put_embeddings(tenant, [record(mine, unit(9))])
    # writing the other tenant's vector for my memory id is dropped (no such memory there)
    await storage.put_embeddings(other_tenant, [record(mine, unit(10))])
    assert await storage.get_embeddings(other_tenant, [mine.id], model=MODEL) == {}
    assert (await storage.get_embeddings(tenant, [mine.id], model=MODEL))[mine.id] == pack(unit(9))
    assert await storage.vector_candidates(
        other_tenant, pack(unit(9)), MemoryFilters(), model=MODEL, limit=5, scan_limit=1000, now=NOW
    ) == []
    assert await storage.missing_embeddings(other_tenant, model=MODEL, limit=5, now=NOW) == []
    assert await storage.neighbours_many(other_tenant, [mine], MemoryFilters(), window=1, now=NOW) == {}


async def test_exact_scan_reads_at_most_scan_limit_newest_vectors(storage: Storage, tenant: str) -> None:
    target = unit(42)
    old, new = memory(tenant, "old"), memory(tenant, "new")
    await storage.insert_memories(tenant, [old, new], NOW)
    await storage.put_embeddings(tenant, [record(old, target), record(new, unit(43))])
    found = await storage.vector_candidates(
        tenant, pack(target), MemoryFilters(), model=MODEL, limit=2, scan_limit=1, now=NOW
    )
    if "vector" in await _features(storage):  # the HNSW index covers every vector
        assert [m.id for m, _ in found] == [old.id, new.id]
    else:  # an exact scan reads only the newest `scan_limit` vectors
        assert [m.id for m, _ in found] == [new.id]


async def _features(storage: Storage) -> set[str]:
    features = getattr(getattr(storage, "schema", None), "features", None)  # PostgreSQL's optional extensions
    return set(await features()) if features is not None else set()
