"""The lexical postings index, the same on every adapter: candidates are the best memories
by weighted impact (exactly, where the reads reach far enough), and filters, expiry,
updates, deletions, keyed term hashes and tenant erasure stay exact; the postings are
kept in step with the memories (none left behind)."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import timedelta
from typing import Any

from continuum.models import MemoryChanges, MemoryFilters
from continuum.ports import Storage
from continuum.storage.sql.lexical import impacts
from tests.contract.test_storage_contract import NOW, memory

WORDS = ["kestrel", "meadow", "harbour", "lantern", "orchard", "glacier", "falcon", "river"]


async def _postings(storage: Any, tenant: str) -> int:
    reads = storage._reads  # every adapter is an SqlStorage: count the table itself
    rows = await reads.db.fetch(f"SELECT count(*) AS n FROM lexical_postings WHERE tenant_id = {reads.d.p}", (tenant,))
    return int(rows[0]["n"])


async def _live_terms(storage: Storage, tenant: str) -> int:
    found = await storage.list_memories(tenant, MemoryFilters(), before_id=None, limit=1000, now=NOW)
    return sum(len(impacts(m.search_terms)) for m in found)


async def test_candidates_are_the_best_by_weighted_impact(storage: Storage, tenant: str) -> None:
    rng = random.Random(5)
    rows = [
        memory(tenant, " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) + f" item{n}",
               memory_id=f"m{n:03d}", created=NOW - timedelta(seconds=100 - n))
        for n in range(60)
    ]  # fmt: skip
    await storage.insert_memories(tenant, rows, NOW)
    weights = {"kestrel": 2.5, "glacier": 1.0, "river": 0.4}
    expected_scores: dict[str, float] = {}
    for m in rows:
        found = dict(impacts(m.search_terms))
        score = sum(w * found.get(t, 0) for t, w in weights.items())
        if score:
            expected_scores[m.id] = score
    newest_first = sorted(expected_scores, reverse=True)
    expected = sorted(newest_first, key=lambda k: -expected_scores[k])
    found = await storage.lexical_candidates(tenant, list(weights), MemoryFilters(), limit=20, now=NOW, weights=weights)
    assert [m.id for m in found] == expected[:20]  # the reads reach every posting: exact
    for limit in (1, 5):  # bounded reads: the best of what was read, every one a real match
        found = await storage.lexical_candidates(
            tenant, list(weights), MemoryFilters(), limit=limit, now=NOW, weights=weights
        )
        assert len(found) == limit and {m.id for m in found} <= set(expected[:20])
    assert await _postings(storage, tenant) == await _live_terms(storage, tenant)


async def test_filters_and_expiry_are_exact(storage: Storage, tenant: str) -> None:
    rows = []
    for n in range(24):
        rows.append(
            memory(
                tenant, f"kestrel sighting number{n}", instance=f"i{n % 2}", session=f"s{n % 3}",
                role="user" if n % 4 else "assistant", metadata={"k": n % 2 == 0},
                created=NOW - timedelta(days=n), memory_id=f"m{n:03d}",
                expires=NOW - timedelta(seconds=1) if n % 5 == 4 else None,
            )
        )  # fmt: skip
    await storage.insert_memories(tenant, rows, NOW - timedelta(days=30))
    cases: list[tuple[MemoryFilters, Any]] = [
        (MemoryFilters(), lambda n: True),
        (MemoryFilters(instance_id="i1"), lambda n: n % 2 == 1),
        (MemoryFilters(session_id="s2"), lambda n: n % 3 == 2),
        (MemoryFilters(role="assistant"), lambda n: n % 4 == 0),
        (MemoryFilters(metadata={"k": True}), lambda n: n % 2 == 0),
        (MemoryFilters(since=NOW - timedelta(days=10)), lambda n: n <= 10),
        (MemoryFilters(until=NOW - timedelta(days=10)), lambda n: n > 10),  # until is exclusive
    ]
    for filters, keep in cases:
        found = await storage.lexical_candidates(tenant, ["kestrel"], filters, limit=100, now=NOW)
        wanted = {f"m{n:03d}" for n in range(24) if keep(n) and n % 5 != 4}  # expired ones never
        assert {m.id for m in found} == wanted, filters
        few = await storage.lexical_candidates(tenant, ["kestrel"], filters, limit=2, now=NOW)
        assert len(few) == min(2, len(wanted)) and {m.id for m in few} <= wanted


async def test_updates_deletes_and_purges_keep_the_postings_in_step(fresh_storage: Storage, tenant: str) -> None:
    storage = fresh_storage
    a = memory(tenant, "kestrel over the meadow", memory_id="a1")
    b = memory(tenant, "lantern by the harbour", memory_id="b1")
    c = memory(tenant, "kestrel again soon", memory_id="c1", expires=NOW + timedelta(hours=1))
    await storage.insert_memories(tenant, [a, b, c], NOW)
    assert await _postings(storage, tenant) == await _live_terms(storage, tenant) == 6

    def ids(found: list[Any]) -> set[str]:
        return {m.id for m in found}

    new_terms = "glacier glacier river"
    changes = MemoryChanges(content="glacier by the river", content_hash="h2", search_terms=new_terms)
    assert await storage.update_memory(tenant, "a1", changes, NOW) is not None
    assert ids(await storage.lexical_candidates(tenant, ["kestrel"], MemoryFilters(), limit=9, now=NOW)) == {"c1"}
    assert ids(await storage.lexical_candidates(tenant, ["glacier"], MemoryFilters(), limit=9, now=NOW)) == {"a1"}
    await storage.update_memory(tenant, "a1", MemoryChanges(metadata={"x": 1}), NOW)  # terms untouched
    assert ids(await storage.lexical_candidates(tenant, ["river"], MemoryFilters(), limit=9, now=NOW)) == {"a1"}
    assert await _postings(storage, tenant) == 2 + 2 + 2

    assert await storage.delete_memory(tenant, "b1", NOW)
    assert await storage.lexical_candidates(tenant, ["lantern"], MemoryFilters(), limit=9, now=NOW) == []
    later = NOW + timedelta(hours=2)
    assert await storage.lexical_candidates(tenant, ["kestrel"], MemoryFilters(), limit=9, now=later) == []
    assert await storage.purge_expired(later) == 1
    assert await _postings(storage, tenant) == 2


async def test_keyed_term_hashes_and_tenant_erasure(storage: Storage, tenant: str, other_tenant: str) -> None:
    def keyed(term: str) -> str:
        return hmac.new(b"tenant key", term.encode(), hashlib.sha256).hexdigest()[:32]

    for t in (tenant, other_tenant):
        record = memory(t, "sealed content", memory_id=f"{t}-1")
        record.search_terms = " ".join(keyed(w) for w in ("kestrel", "meadow", "kestrel"))
        await storage.insert_memories(t, [record], NOW)
    found = await storage.lexical_candidates(tenant, [keyed("kestrel")], MemoryFilters(), limit=5, now=NOW)
    assert [m.id for m in found] == [f"{tenant}-1"]
    assert await storage.lexical_candidates(tenant, ["kestrel"], MemoryFilters(), limit=5, now=NOW) == []
    await storage.erase_tenant(tenant)
    assert await _postings(storage, tenant) == 0
    assert await storage.lexical_candidates(tenant, [keyed("kestrel")], MemoryFilters(), limit=5, now=NOW) == []
    assert await _postings(storage, other_tenant) == 2
    theirs = await storage.lexical_candidates(other_tenant, [keyed("meadow")], MemoryFilters(), limit=5, now=NOW)
    assert [m.id for m in theirs] == [f"{other_tenant}-1"]


async def test_many_terms_in_one_statement(storage: Storage, tenant: str) -> None:
    """Up to 16 terms are read in one statement (D1 allows 5 terms per compound SELECT)."""
    words = [f"word{n}" for n in range(20)]
    await storage.insert_memories(
        tenant, [memory(tenant, f"{w} alone", memory_id=f"m{n:02d}") for n, w in enumerate(words)], NOW
    )
    weights = {w: 1.0 + n for n, w in enumerate(words)}
    found = await storage.lexical_candidates(tenant, words, MemoryFilters(), limit=50, now=NOW, weights=weights)
    assert [m.id for m in found] == [f"m{n:02d}" for n in range(19, 3, -1)]  # the 16 heaviest terms
