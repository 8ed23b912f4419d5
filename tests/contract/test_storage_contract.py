"""One storage contract, the same cases on every adapter (SQLite, PostgreSQL pool and
serverless, and whatever registers in tests/contract/adapters_*.py).

The reference semantics are those of the SQLite dialect; each case states one rule.
Every case uses tenants of its own, so one adapter instance serves the whole session.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from continuum.core.text import analyze
from continuum.errors import Conflict
from continuum.models import (
    EXPORT_KINDS,
    ApiKeyRecord,
    ConceptMention,
    DecisionRecord,
    LearnWrite,
    MemoryChanges,
    MemoryFilters,
    MemoryRecord,
    MessageRecord,
    TenantCounts,
)
from continuum.ports import Storage

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
_counter = itertools.count(1)


def new_id() -> str:
    """Ids sort in creation order, like the engine's ULIDs (digits are in their alphabet)."""
    return f"{next(_counter):026d}"


def memory(
    tenant: str,
    content: str,
    *,
    instance: str | None = None,
    session: str | None = None,
    role: str = "user",
    metadata: dict[str, Any] | None = None,
    created: datetime = NOW,
    expires: datetime | None = None,
    memory_id: str | None = None,
) -> MemoryRecord:
    return MemoryRecord(
        id=memory_id or new_id(),
        tenant_id=tenant,
        content=content,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        search_terms=" ".join(analyze(content)),
        role=role,
        instance_id=instance,
        session_id=session,
        metadata=metadata or {},
        created_at=created,
        updated_at=created,
        expires_at=expires,
    )


def changes_for(content: str, **more: Any) -> MemoryChanges:
    return MemoryChanges(
        content=content,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        search_terms=" ".join(analyze(content)),
        **more,
    )


def learn_write(
    tenant: str, user: str, ai: str, concepts: list[str], *, session: str | None = None, now: datetime = NOW
) -> LearnWrite:
    message_id = new_id()
    keys = sorted({c.casefold() for c in concepts})
    return LearnWrite(
        message=MessageRecord(
            id=message_id,
            tenant_id=tenant,
            instance_id=None,
            session_id=session,
            user_message=user,
            ai_response=ai,
            thinking=None,
            metadata={"k": 1},
            created_at=now,
        ),
        memories=[
            memory(tenant, text, session=session, role=role, created=now)
            for role, text in (("user", user), ("assistant", ai))
            if text
        ],
        concepts=[ConceptMention(key=c.casefold(), name=c, kind="name", description=f"about {c}") for c in concepts],
        links=list(itertools.combinations(keys, 2)) if len(keys) > 1 else [],
        decisions=[
            DecisionRecord(
                id=new_id(),
                tenant_id=tenant,
                instance_id=None,
                session_id=session,
                message_id=message_id,
                decision="ship it",
                created_at=now,
            )
        ],
        link_increment=0.2,
        now=now,
        history_ids=[new_id() for text in (user, ai) if text],  # an ADD entry per memory
    )


async def expected_stats_match(storage: Storage, tenant: str, now: datetime = NOW) -> None:
    """Term statistics equal what the stored rows say (all rows, expired ones included
    until they are cleaned up, exactly as the reference counts them)."""
    rows: list[MemoryRecord] = []
    after = None
    while True:
        page = await storage.export_page(tenant, "memory", after=after, limit=200)
        rows += page.rows
        if page.next_after is None:
            break
        after = page.next_after
    df: Counter[str] = Counter()
    total = 0
    for row in rows:
        terms = row.search_terms.split()
        total += len(terms)
        df.update(set(terms))
    probe = [*sorted(df), "zzzabsentterm"]
    stats = await storage.lexical_stats(tenant, probe)
    assert stats.doc_count == len(rows)
    assert stats.term_total == total
    assert stats.document_frequency == dict(df)


async def all_ids(
    storage: Storage, tenant: str, filters: MemoryFilters | None = None, now: datetime = NOW
) -> list[str]:
    records = await storage.list_memories(tenant, filters or MemoryFilters(), before_id=None, limit=1000, now=now)
    return [r.id for r in records]


# ---- lifecycle --------------------------------------------------------------------------


async def test_ping_and_migrations_are_idempotent(storage: Storage) -> None:
    await storage.ping()
    assert await storage.pending_migrations() == []
    assert await storage.migrate() == []


# ---- tenants and keys -------------------------------------------------------------------


async def test_tenants_keep_first_creation_and_latest_given_name(fresh_storage: Storage) -> None:
    s = fresh_storage
    await s.ensure_tenant("b-tenant", None, NOW)
    await s.ensure_tenant("a-tenant", "Alpha", NOW)
    await s.ensure_tenant("b-tenant", "Beta", NOW + timedelta(days=1))
    await s.ensure_tenant("b-tenant", None, NOW + timedelta(days=2))
    tenants = await s.list_tenants()
    assert [(t.tenant_id, t.name, t.created_at) for t in tenants] == [
        ("a-tenant", "Alpha", NOW),
        ("b-tenant", "Beta", NOW),
    ]


def api_key(tenant: str, label: str, *, created: datetime = NOW, **fields: Any) -> ApiKeyRecord:
    digest = hashlib.sha256(f"{tenant}/{label}".encode()).hexdigest()
    return ApiKeyRecord(digest, tenant, label, "ck_" + label[:7], created, key_id=f"K{label}", **fields)


async def test_api_keys_are_found_by_hash_only(storage: Storage, tenant: str) -> None:
    key_hash = hashlib.sha256(tenant.encode()).hexdigest()
    await storage.ensure_tenant(tenant, None, NOW)
    await storage.create_api_key(ApiKeyRecord(key_hash, tenant, "ci", "ck_abc", NOW))
    found = await storage.find_api_key(key_hash)
    assert found == ApiKeyRecord(key_hash, tenant, "ci", "ck_abc", NOW)
    assert await storage.find_api_key("0" * 64) is None


async def test_api_keys_keep_scopes_expiry_and_times(storage: Storage, tenant: str) -> None:
    record = api_key(tenant, "reader", scopes=("read",), expires_at=NOW + timedelta(hours=1, microseconds=7))
    await storage.create_api_key(record)
    assert await storage.find_api_key(record.key_hash) == record
    assert (await storage.find_api_key(record.key_hash)).scopes == ("read",)  # type: ignore[union-attr]


async def test_api_keys_are_listed_per_tenant_oldest_first(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    second = api_key(tenant, "second", created=NOW + timedelta(seconds=1))
    first = api_key(tenant, "first")
    theirs = api_key(other_tenant, "theirs")
    for record in (second, first, theirs):
        await storage.create_api_key(record)
    assert await storage.list_api_keys(tenant) == [first, second]
    assert await storage.list_api_keys(other_tenant) == [theirs]
    assert await storage.list_api_keys(tenant + "-nobody") == []


async def test_a_key_is_revoked_only_by_its_own_tenant_and_once(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    mine = api_key(tenant, "mine")
    await storage.create_api_key(mine)
    assert await storage.revoke_api_key(other_tenant, mine.key_id, NOW) is None
    assert (await storage.find_api_key(mine.key_hash)).revoked_at is None  # type: ignore[union-attr]
    revoked = await storage.revoke_api_key(tenant, mine.key_id, NOW)
    assert revoked is not None and revoked.revoked_at == NOW and revoked.key_hash == mine.key_hash
    again = await storage.revoke_api_key(tenant, mine.key_id, NOW + timedelta(hours=1))
    assert again is not None and again.revoked_at == NOW  # the first revocation's time stays
    assert await storage.revoke_api_key(tenant, "Knobody", NOW) is None


async def test_touching_a_key_stamps_its_last_use_at_most_once_per_interval(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    record = api_key(tenant, "used")
    await storage.create_api_key(record)
    minute = timedelta(minutes=1)

    async def last_used() -> datetime | None:
        return (await storage.find_api_key(record.key_hash)).last_used_at  # type: ignore[union-attr]

    await storage.touch_api_key(other_tenant, record.key_hash, NOW, every=minute)
    assert await last_used() is None
    await storage.touch_api_key(tenant, record.key_hash, NOW, every=minute)
    assert await last_used() == NOW
    await storage.touch_api_key(tenant, record.key_hash, NOW + timedelta(seconds=59), every=minute)
    assert await last_used() == NOW
    await storage.touch_api_key(tenant, record.key_hash, NOW + minute, every=minute)
    assert await last_used() == NOW + minute


# ---- inserting memories -----------------------------------------------------------------


async def test_insert_results_follow_dedup_scope(storage: Storage, tenant: str, other_tenant: str) -> None:
    first = memory(tenant, "Aurora ships in May", session="s1")
    again = memory(tenant, "Aurora ships in May", session="s1")
    other_scope = memory(tenant, "Aurora ships in May", session="s2")
    other_instance = memory(tenant, "Aurora ships in May", instance="i1", session="s1")
    results = await storage.insert_memories(tenant, [first, again, other_scope, other_instance], NOW)
    assert [(r.id, r.status) for r in results] == [
        (first.id, "stored"),
        (first.id, "duplicate"),  # inside one batch: the first holds the content
        (other_scope.id, "stored"),
        (other_instance.id, "stored"),
    ]
    later = memory(tenant, "Aurora ships in May", session="s1")
    assert [(r.id, r.status) for r in await storage.insert_memories(tenant, [later], NOW)] == [(first.id, "duplicate")]
    # the same content in another tenant is not a duplicate
    elsewhere = memory(other_tenant, "Aurora ships in May", session="s1")
    assert [(r.id, r.status) for r in await storage.insert_memories(other_tenant, [elsewhere], NOW)] == [
        (elsewhere.id, "stored")
    ]
    assert sorted(await all_ids(storage, tenant)) == sorted([first.id, other_scope.id, other_instance.id])
    await expected_stats_match(storage, tenant)


async def test_ids_already_present_are_duplicates_and_reinserting_is_idempotent(storage: Storage, tenant: str) -> None:
    records = [memory(tenant, f"note number {i} about kites") for i in range(3)]
    assert [r.status for r in await storage.insert_memories(tenant, records, NOW)] == ["stored"] * 3
    before = await storage.export_page(tenant, "memory", after=None, limit=100)
    again = await storage.insert_memories(tenant, records, NOW)
    assert [(r.id, r.status) for r in again] == [(m.id, "duplicate") for m in records]
    after = await storage.export_page(tenant, "memory", after=None, limit=100)
    assert after == before
    await expected_stats_match(storage, tenant)


async def test_a_repeated_id_in_one_batch_is_stored_once(storage: Storage, tenant: str) -> None:
    record = memory(tenant, "the same line twice in an import file")
    results = await storage.insert_memories(tenant, [record, record], NOW)
    assert [(r.id, r.status) for r in results] == [(record.id, "stored"), (record.id, "duplicate")]
    assert (await storage.counts(tenant)).memories == 1
    await expected_stats_match(storage, tenant)


async def test_memories_round_trip_exactly(storage: Storage, tenant: str) -> None:
    metadata = {"z": [1, 2.5, "x", None, True], "a": {"nested": {"deep": "ü ✓ 日本"}}, "n": 0, "f": False}
    record = memory(
        tenant,
        "Ünïcode ✓ 日本語 🚀 round trip",
        instance="inst",
        session="sess",
        role="note",
        metadata=metadata,
        created=NOW - timedelta(microseconds=1),
        expires=NOW + timedelta(days=365),
    )
    await storage.insert_memories(tenant, [record], NOW)
    got = await storage.get_memory(tenant, record.id, NOW)
    assert got == record
    assert list(got.metadata) == sorted(metadata)  # keys come back sorted, on every database
    assert list(got.metadata["a"]) == ["nested"]


# ---- expiry -----------------------------------------------------------------------------


async def test_expired_memories_are_invisible_and_cleaned_before_writes(storage: Storage, tenant: str) -> None:
    soon = NOW + timedelta(hours=1)
    fading = memory(tenant, "temporary reminder about the dentist", session="s", expires=soon)
    lasting = memory(tenant, "permanent note about the dentist", session="s")
    await storage.insert_memories(tenant, [fading, lasting], NOW)
    later = soon + timedelta(seconds=1)
    assert await storage.get_memory(tenant, fading.id, NOW) is not None
    assert await storage.get_memory(tenant, fading.id, soon) is None  # expiry is exclusive of its instant
    assert await all_ids(storage, tenant, now=later) == [lasting.id]
    found = await storage.lexical_candidates(tenant, ["dentist"], MemoryFilters(), limit=10, now=later)
    assert [m.id for m in found] == [lasting.id]
    assert await storage.neighbours(tenant, lasting, window=5, now=later) == []
    # still counted until a write cleans it up
    assert (await storage.counts(tenant)).memories == 2
    await expected_stats_match(storage, tenant)
    # the same content again, after expiry: a new memory, not a duplicate of the dead one
    again = memory(tenant, "temporary reminder about the dentist", session="s", created=later)
    assert [(r.id, r.status) for r in await storage.insert_memories(tenant, [again], later)] == [(again.id, "stored")]
    assert (await storage.counts(tenant)).memories == 2
    await expected_stats_match(storage, tenant, later)


async def test_purge_expired_removes_rows_of_every_tenant_and_keeps_stats_exact(fresh_storage: Storage) -> None:
    s = fresh_storage
    for tenant in ("p1", "p2"):
        await s.insert_memories(
            tenant,
            [
                memory(tenant, "old news about comets", expires=NOW + timedelta(minutes=1)),
                memory(tenant, "fresh news about comets"),
            ],
            NOW,
        )
    assert await s.purge_expired(NOW) == 0
    assert await s.purge_expired(NOW + timedelta(minutes=2)) == 2
    for tenant in ("p1", "p2"):
        assert (await s.counts(tenant)).memories == 1
        await expected_stats_match(s, tenant)


# ---- updates and deletes ----------------------------------------------------------------


async def test_update_changes_content_terms_and_fields(storage: Storage, tenant: str) -> None:
    record = memory(tenant, "the launch is in Lisbon", session="s", metadata={"v": 1}, expires=NOW + timedelta(days=1))
    await storage.insert_memories(tenant, [record], NOW)
    later = NOW + timedelta(minutes=5)
    updated = await storage.update_memory(
        tenant, record.id, changes_for("the launch moved to Porto", role="note", metadata={"v": 2}), later
    )
    assert updated is not None
    assert (updated.content, updated.role, updated.metadata, updated.updated_at) == (
        "the launch moved to Porto",
        "note",
        {"v": 2},
        later,
    )
    assert updated.created_at == NOW and updated.expires_at == record.expires_at
    assert await storage.get_memory(tenant, record.id, later) == updated
    assert [m.id for m in await storage.lexical_candidates(tenant, ["porto"], MemoryFilters(), limit=5, now=later)] == [
        record.id
    ]
    assert await storage.lexical_candidates(tenant, ["lisbon"], MemoryFilters(), limit=5, now=later) == []
    await expected_stats_match(storage, tenant)
    cleared = await storage.update_memory(tenant, record.id, MemoryChanges(clear_expiry=True), later)
    assert cleared is not None and cleared.expires_at is None
    moved = await storage.update_memory(tenant, record.id, MemoryChanges(expires_at=NOW + timedelta(days=9)), later)
    assert moved is not None and moved.expires_at == NOW + timedelta(days=9)
    same = await storage.update_memory(tenant, record.id, changes_for("the launch moved to Porto"), later)
    assert same is not None and same.content == "the launch moved to Porto"
    await expected_stats_match(storage, tenant)


async def test_update_conflicts_only_with_live_content_in_the_same_scope(storage: Storage, tenant: str) -> None:
    a = memory(tenant, "alpha text", session="s")
    b = memory(tenant, "beta text", session="s")
    c = memory(tenant, "gamma text", session="other")
    await storage.insert_memories(tenant, [a, b, c], NOW)
    with pytest.raises(Conflict):
        await storage.update_memory(tenant, b.id, changes_for("alpha text"), NOW)
    assert (await storage.get_memory(tenant, b.id, NOW)).content == "beta text"
    moved = await storage.update_memory(tenant, c.id, changes_for("alpha text"), NOW)  # another scope: fine
    assert moved is not None
    await expected_stats_match(storage, tenant)


async def test_update_over_expired_content_is_allowed(storage: Storage, tenant: str) -> None:
    dead = memory(tenant, "delta text", session="s", expires=NOW + timedelta(seconds=1))
    live = memory(tenant, "epsilon text", session="s")
    await storage.insert_memories(tenant, [dead, live], NOW)
    later = NOW + timedelta(minutes=1)
    updated = await storage.update_memory(tenant, live.id, changes_for("delta text"), later)
    assert updated is not None and updated.content == "delta text"
    assert await all_ids(storage, tenant, now=later) == [live.id]
    await expected_stats_match(storage, tenant, later)


async def test_update_and_delete_of_missing_or_expired_or_foreign_memories(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    mine = memory(tenant, "mine alone", expires=NOW + timedelta(hours=1))
    await storage.insert_memories(tenant, [mine], NOW)
    assert await storage.update_memory(other_tenant, mine.id, changes_for("hijacked"), NOW) is None
    assert await storage.delete_memory(other_tenant, mine.id, NOW) is False
    assert await storage.update_memory(tenant, mine.id, MemoryChanges(role="x"), NOW + timedelta(hours=2)) is None
    assert await storage.update_memory(tenant, "0" * 26, MemoryChanges(role="x"), NOW) is None
    assert (await storage.get_memory(tenant, mine.id, NOW)).content == "mine alone"
    assert await storage.delete_memory(tenant, mine.id, NOW) is True
    assert await storage.delete_memory(tenant, mine.id, NOW) is False
    await expected_stats_match(storage, tenant)


# ---- reading ----------------------------------------------------------------------------


async def test_list_orders_newest_first_and_pages_by_cursor(storage: Storage, tenant: str) -> None:
    records = [memory(tenant, f"entry {i} of the log", session="s") for i in range(7)]
    await storage.insert_memories(tenant, records, NOW)
    seen: list[str] = []
    cursor = None
    while True:
        page = await storage.list_memories(tenant, MemoryFilters(), before_id=cursor, limit=3, now=NOW)
        seen += [m.id for m in page]
        if len(page) < 3:
            break
        cursor = page[-1].id
    assert seen == [m.id for m in reversed(records)]


async def test_filters_by_fields_time_and_typed_metadata(storage: Storage, tenant: str) -> None:
    t0 = NOW
    rows = {
        "int": memory(tenant, "meta int", metadata={"n": 1, "tags": ["a", "b"]}, created=t0, instance="i1"),
        "float": memory(tenant, "meta float", metadata={"n": 1.0}, created=t0 + timedelta(seconds=1), session="s1"),
        "true": memory(tenant, "meta true", metadata={"n": True}, created=t0 + timedelta(seconds=2), role="note"),
        "text": memory(tenant, "meta text", metadata={"n": "1"}, created=t0 + timedelta(seconds=3)),
        "null": memory(tenant, "meta null", metadata={"n": None, "o": {"x": 1}}, created=t0 + timedelta(seconds=4)),
        "big": memory(tenant, "meta big", metadata={"n": 2**53 + 1}, created=t0 + timedelta(seconds=5)),
    }
    await storage.insert_memories(tenant, list(rows.values()), NOW)

    async def names(**filters: Any) -> set[str]:
        ids = set(await all_ids(storage, tenant, MemoryFilters(**filters), now=NOW + timedelta(minutes=1)))
        return {name for name, r in rows.items() if r.id in ids}

    assert await names(metadata={"n": 1}) == {"int", "float"}  # 1 == 1.0 as JSON numbers
    assert await names(metadata={"n": 1.0}) == {"int", "float"}
    assert await names(metadata={"n": True}) == {"true"}
    assert await names(metadata={"n": "1"}) == {"text"}
    assert await names(metadata={"n": None}) == {"null"}
    assert await names(metadata={"n": 2**53 + 1}) == {"big"}
    assert await names(metadata={"n": 2**53}) == set()
    assert await names(metadata={"tags": ["a", "b"]}) == {"int"}
    assert await names(metadata={"tags": ["b", "a"]}) == set()
    assert await names(metadata={"o": {"x": 1}}) == {"null"}
    assert await names(metadata={"missing": None}) == set()
    assert await names(metadata={"n": 1, "tags": ["a", "b"]}) == {"int"}
    assert await names(instance_id="i1") == {"int"}
    assert await names(session_id="s1") == {"float"}
    assert await names(role="note") == {"true"}
    assert await names(since=t0 + timedelta(seconds=2)) == {"true", "text", "null", "big"}
    assert await names(until=t0 + timedelta(seconds=2)) == {"int", "float"}
    assert await names(since=t0 + timedelta(seconds=1), until=t0 + timedelta(seconds=3)) == {"float", "true"}


async def test_lexical_candidates_and_statistics_are_per_tenant(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    await storage.insert_memories(
        tenant,
        [
            memory(tenant, "kestrel hunting over the meadow", session="a"),
            memory(tenant, "the meadow in spring", session="b"),
            memory(tenant, "nothing related here", session="a"),
        ],
        NOW,
    )
    await storage.insert_memories(other_tenant, [memory(other_tenant, f"meadow kestrel {i}") for i in range(20)], NOW)
    stats = await storage.lexical_stats(tenant, ["meadow", "kestrel", "absentword"])
    assert (stats.doc_count, stats.document_frequency) == (3, {"meadow": 2, "kestrel": 1})
    found = await storage.lexical_candidates(tenant, ["kestrel", "meadow"], MemoryFilters(), limit=10, now=NOW)
    assert {m.content for m in found} == {"kestrel hunting over the meadow", "the meadow in spring"}
    assert all(m.tenant_id == tenant for m in found)
    only_a = await storage.lexical_candidates(tenant, ["meadow"], MemoryFilters(session_id="a"), limit=10, now=NOW)
    assert [m.content for m in only_a] == ["kestrel hunting over the meadow"]
    assert len(await storage.lexical_candidates(tenant, ["meadow"], MemoryFilters(), limit=1, now=NOW)) == 1
    assert await storage.lexical_candidates(tenant, [], MemoryFilters(), limit=10, now=NOW) == []
    # terms are never query syntax
    for attack in (["OR", "NOT", "*"], ["x' | 'meadow"], ['x" OR "meadow']):
        assert await storage.lexical_candidates(tenant, attack, MemoryFilters(), limit=10, now=NOW) == []


async def test_neighbours_follow_session_then_instance(storage: Storage, tenant: str) -> None:
    s = [memory(tenant, f"session turn {i}", session="conv", instance="bot") for i in range(6)]
    i = [memory(tenant, f"instance turn {n}", instance="bot") for n in range(3)]
    await storage.insert_memories(tenant, s + i, NOW)
    around = await storage.neighbours(tenant, s[2], window=2, now=NOW)
    assert [m.id for m in around] == [s[0].id, s[1].id, s[3].id, s[4].id]
    by_instance = await storage.neighbours(tenant, i[1], window=1, now=NOW)
    # the instance scope holds every memory of the instance, sessions included
    assert [m.id for m in by_instance] == [i[0].id, i[2].id]
    loose = memory(tenant, "no scope at all")
    assert await storage.neighbours(tenant, loose, window=3, now=NOW) == []
    many = getattr(storage, "neighbours_many", None)
    if many is not None:  # the batched form, where the port has it
        found = await many(tenant, [s[0], i[1], loose], MemoryFilters(), window=1, now=NOW)
        assert {k: [m.id for m in v] for k, v in found.items()} == {s[0].id: [s[1].id], i[1].id: [i[0].id, i[2].id]}


# ---- learn and the concept graph --------------------------------------------------------


async def test_learn_writes_everything_and_strengthens_links(storage: Storage, tenant: str) -> None:
    first = await storage.learn(
        tenant, learn_write(tenant, "Aurora uses Redis", "Noted: Aurora, Redis, Kim", ["Aurora", "Redis", "Kim"])
    )
    assert [r.status for r in first.results] == ["stored", "stored"]
    assert sorted(first.new_concepts) == ["aurora", "kim", "redis"]
    assert first.links_created == 3
    later = NOW + timedelta(minutes=1)
    second = await storage.learn(
        tenant, learn_write(tenant, "Aurora uses Redis", "Aurora and Redis again", ["Aurora", "Redis"], now=later)
    )
    assert [r.status for r in second.results] == ["duplicate", "stored"]
    assert second.results[0].id == first.results[0].id
    assert second.new_concepts == [] and second.links_created == 0
    links = await storage.entity_links(tenant, ["aurora"], limit=10)
    assert [(lk.concept_a, lk.concept_b, lk.strength, lk.occurrences) for lk in links] == [
        ("aurora", "redis", 0.2 + 0.2 * (1.0 - 0.2), 2),  # s <- s + rate * (1 - s), bit for bit
        ("aurora", "kim", 0.2, 1),
    ]
    assert links[0].updated_at == later and links[0].created_at == NOW
    entities = {e.key: e for e in await storage.find_entities(tenant, ["aurora", "kim", "nobody"])}
    assert set(entities) == {"aurora", "kim"}
    assert entities["aurora"].mention_count == 2 and entities["aurora"].last_seen_at == later
    assert entities["aurora"].created_at == NOW and entities["aurora"].name == "Aurora"
    assert await storage.counts(tenant) == TenantCounts(
        entities=3, messages=2, decisions=2, attention_links=3, memories=3
    )
    await expected_stats_match(storage, tenant)


async def test_entity_listing_and_links_order(storage: Storage, tenant: str) -> None:
    await storage.learn(tenant, learn_write(tenant, "a", "b", ["Zeta", "Alpha", "Mid"]))
    await storage.learn(tenant, learn_write(tenant, "c", "d", ["Zeta", "Mid"]))
    await storage.learn(tenant, learn_write(tenant, "e", "f", ["Zeta"]))
    listed = await storage.list_entities(tenant, entity_type=None, limit=10, offset=0)
    assert [(e.key, e.mention_count) for e in listed] == [("zeta", 3), ("mid", 2), ("alpha", 1)]
    assert [e.key for e in await storage.list_entities(tenant, entity_type=None, limit=1, offset=1)] == ["mid"]
    assert await storage.list_entities(tenant, entity_type="place", limit=10, offset=0) == []
    links = await storage.entity_links(tenant, ["zeta"], limit=10)
    assert [(lk.concept_a, lk.concept_b) for lk in links] == [("mid", "zeta"), ("alpha", "zeta")]
    assert [(lk.concept_a, lk.concept_b) for lk in await storage.entity_links(tenant, ["alpha", "mid"], limit=2)] == [
        ("mid", "zeta"),
        ("alpha", "mid"),
    ]
    assert await storage.entity_links(tenant, [], limit=5) == []


# ---- change history ----------------------------------------------------------------------


async def history_of(storage: Storage, tenant: str, memory_id: str) -> list[tuple[Any, ...]]:
    entries = await storage.memory_history(tenant, memory_id, limit=10)
    assert all(e.memory_id == memory_id for e in entries)
    return [(e.event, e.old_content, e.new_content, e.created_at) for e in entries]


async def test_each_write_records_its_history_which_outlives_the_memory(storage: Storage, tenant: str) -> None:
    await storage.ensure_tenant(tenant, None, NOW)
    m = memory(tenant, "first words", instance="agent", session="s1", metadata={"k": 0})
    later = [NOW + timedelta(minutes=n) for n in range(5)]
    await storage.insert_memories(tenant, [m], later[0], history_ids=[new_id()])
    await storage.update_memory(tenant, m.id, changes_for("second words"), later[1], history_id=new_id())
    await storage.update_memory(tenant, m.id, changes_for("third", metadata={"k": 2}), later[2], history_id=new_id())
    await storage.update_memory(tenant, m.id, MemoryChanges(role="assistant"), later[3], history_id=new_id())
    assert await storage.update_memory(tenant, "0" * 26, MemoryChanges(role="x"), NOW, history_id=new_id()) is None
    assert await storage.delete_memory(tenant, m.id, later[4], history_id=new_id())
    assert await storage.delete_memory(tenant, m.id, later[4], history_id=new_id()) is False  # nothing recorded
    assert await history_of(storage, tenant, m.id) == [
        ("ADD", None, "first words", later[0]),
        ("UPDATE", "first words", "second words", later[1]),
        ("UPDATE", "second words", "third", later[2]),
        ("UPDATE", "third", "third", later[3]),
        ("DELETE", "third", None, later[4]),
    ]
    entries = await storage.memory_history(tenant, m.id, limit=10)
    assert [e.metadata for e in entries] == [{"k": 0}, {"k": 0}, {"k": 2}, {"k": 2}, {"k": 2}]
    assert {(e.instance_id, e.session_id) for e in entries} == {("agent", "s1")}
    assert [e.id for e in await storage.memory_history(tenant, m.id, limit=2)] == [e.id for e in entries[:2]]
    assert await storage.memory_history(tenant, "no-such-memory", limit=10) == []


async def test_history_records_only_what_landed(storage: Storage, tenant: str) -> None:
    await storage.ensure_tenant(tenant, None, NOW)
    kept = memory(tenant, "said once")
    await storage.insert_memories(tenant, [kept], NOW, history_ids=[new_id()])
    again, twin = memory(tenant, "said once"), memory(tenant, "said twice")
    await storage.insert_memories(tenant, [kept, again, twin, twin], NOW, history_ids=[new_id() for _ in range(4)])
    assert [e.event for e in await storage.memory_history(tenant, kept.id, limit=9)] == ["ADD"]
    assert await storage.memory_history(tenant, again.id, limit=9) == []  # its content was held already
    assert [e.event for e in await storage.memory_history(tenant, twin.id, limit=9)] == ["ADD"]
    write = learn_write(tenant, "a learned line", "an answer", ["Ava"])
    await storage.learn(tenant, write)
    for m in write.memories:
        assert await history_of(storage, tenant, m.id) == [("ADD", None, m.content, NOW)]
    imported = memory(tenant, "brought its own history")  # no entry ids: no history (an import)
    await storage.insert_memories(tenant, [imported], NOW)
    await storage.update_memory(tenant, imported.id, changes_for("brought along"), NOW)
    assert await storage.delete_memory(tenant, imported.id, NOW)
    assert await storage.memory_history(tenant, imported.id, limit=9) == []


async def _fail_history_writes(storage: Storage, tenant: str, *, on: bool) -> None:
    """Make every history insert of `tenant` fail in the database (a trigger), or stop."""
    db, dialect = storage._reads.db, storage._reads.d.name  # type: ignore[attr-defined]
    name = f"fail_history_{tenant.replace('-', '_')}"
    if dialect == "postgres":
        statements = [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'history write failed'; END $$",
            f"CREATE TRIGGER {name} BEFORE INSERT ON memory_history FOR EACH ROW "
            f"WHEN (NEW.tenant_id = '{tenant}') EXECUTE FUNCTION {name}()",
        ] if on else [f"DROP TRIGGER {name} ON memory_history", f"DROP FUNCTION {name}()"]  # fmt: skip
    else:
        statements = [
            f"CREATE TRIGGER {name} BEFORE INSERT ON memory_history FOR EACH ROW "
            f"WHEN NEW.tenant_id = '{tenant}' BEGIN SELECT RAISE(ABORT, 'history write failed'); END",
        ] if on else [f"DROP TRIGGER {name}"]  # fmt: skip
    await db.run_batch([(sql, ()) for sql in statements])


async def test_a_change_and_its_history_entry_are_written_together(storage: Storage, tenant: str) -> None:
    """A failure writing the history entry undoes the change: neither is kept."""
    await storage.ensure_tenant(tenant, None, NOW)
    kept = memory(tenant, "written before the failure")
    await storage.insert_memories(tenant, [kept], NOW, history_ids=[new_id()])
    before = await storage.counts(tenant)
    await _fail_history_writes(storage, tenant, on=True)
    try:
        new = memory(tenant, "never acknowledged")
        with pytest.raises(Exception, match="history write failed"):
            await storage.insert_memories(tenant, [new], NOW, history_ids=[new_id()])
        with pytest.raises(Exception, match="history write failed"):
            await storage.learn(tenant, learn_write(tenant, "a lost turn", "a lost answer", ["Bo", "Cy"]))
        with pytest.raises(Exception, match="history write failed"):
            await storage.update_memory(tenant, kept.id, changes_for("rewritten"), NOW, history_id=new_id())
        with pytest.raises(Exception, match="history write failed"):
            await storage.delete_memory(tenant, kept.id, NOW, history_id=new_id())
    finally:
        await _fail_history_writes(storage, tenant, on=False)
    assert await storage.get_memory(tenant, new.id, NOW) is None
    assert (await storage.get_memory(tenant, kept.id, NOW)).content == "written before the failure"
    assert await storage.counts(tenant) == before
    assert await storage.find_entities(tenant, ["bo", "cy"]) == []
    await expected_stats_match(storage, tenant)
    assert [e.event for e in await storage.memory_history(tenant, kept.id, limit=9)] == ["ADD"]
    assert await storage.memory_history(tenant, new.id, limit=9) == []


async def test_history_is_per_tenant_and_erased_with_its_tenant(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    shared_id = new_id()  # the same memory id in two tenants never shares a history
    for t, text in ((tenant, "mine"), (other_tenant, "theirs")):
        await storage.ensure_tenant(t, None, NOW)
        await storage.insert_memories(t, [memory(t, text, memory_id=shared_id)], NOW, history_ids=[new_id()])
    await storage.update_memory(tenant, shared_id, changes_for("mine again"), NOW, history_id=new_id())
    assert [(e.old_content, e.new_content) for e in await storage.memory_history(tenant, shared_id, limit=9)] == [
        (None, "mine"), ("mine", "mine again"),
    ]  # fmt: skip
    assert [(e.old_content, e.new_content) for e in await storage.memory_history(other_tenant, shared_id, limit=9)] == [
        (None, "theirs"),
    ]  # fmt: skip
    assert await storage.delete_memory(other_tenant, shared_id, NOW, history_id=new_id())
    assert len(await storage.memory_history(tenant, shared_id, limit=9)) == 2
    await storage.erase_tenant(tenant)
    assert await storage.memory_history(tenant, shared_id, limit=9) == []
    assert len(await storage.memory_history(other_tenant, shared_id, limit=9)) == 2


# ---- tenant isolation -------------------------------------------------------------------


async def test_no_method_crosses_tenants(storage: Storage, tenant: str, other_tenant: str) -> None:
    await storage.learn(
        tenant,
        learn_write(tenant, "Secret Nightingale plan", "Nightingale noted", ["Nightingale", "Falcon"], session="x"),
    )
    mine = (await storage.insert_memories(tenant, [memory(tenant, "Nightingale memo", session="x")], NOW))[0].id
    b = other_tenant
    assert await storage.get_memory(b, mine, NOW) is None
    assert await all_ids(storage, b) == []
    assert await storage.list_memories(b, MemoryFilters(session_id="x"), before_id=None, limit=10, now=NOW) == []
    assert await storage.lexical_candidates(b, ["nightingal"], MemoryFilters(), limit=10, now=NOW) == []
    stats = await storage.lexical_stats(b, ["nightingal", "memo"])
    assert (stats.doc_count, stats.term_total, stats.document_frequency) == (0, 0, {})
    mine_record = await storage.get_memory(tenant, mine, NOW)
    assert await storage.neighbours(b, mine_record, window=5, now=NOW) == []
    assert await storage.find_entities(b, ["nightingale", "falcon"]) == []
    assert await storage.list_entities(b, entity_type=None, limit=10, offset=0) == []
    assert await storage.entity_links(b, ["nightingale", "falcon"], limit=10) == []
    assert await storage.counts(b) == TenantCounts()
    for kind in EXPORT_KINDS:
        assert (await storage.export_page(b, kind, after=None, limit=10)).rows == []
    assert await storage.update_memory(b, mine, MemoryChanges(role="x"), NOW) is None
    assert await storage.delete_memory(b, mine, NOW) is False
    assert await storage.erase_tenant(b) == TenantCounts()
    assert (await storage.counts(tenant)).memories == 3
    assert (await storage.get_memory(tenant, mine, NOW)).role == "user"


async def test_erase_tenant_removes_everything_of_that_tenant_only(
    storage: Storage, tenant: str, other_tenant: str
) -> None:
    for t in (tenant, other_tenant):
        await storage.ensure_tenant(t, None, NOW)
        await storage.create_api_key(ApiKeyRecord(hashlib.sha256(t.encode()).hexdigest(), t, None, "ck_", NOW))
        await storage.learn(t, learn_write(t, "Orion project kickoff", "Orion and Vega", ["Orion", "Vega"]))
        await storage.insert_memories(t, [memory(t, "an extra memory", expires=NOW + timedelta(days=1))], NOW)
    before = await storage.counts(tenant)
    assert await storage.erase_tenant(tenant) == before
    assert await storage.counts(tenant) == TenantCounts()
    assert await storage.find_api_key(hashlib.sha256(tenant.encode()).hexdigest()) is None
    assert tenant not in {t.tenant_id for t in await storage.list_tenants()}
    stats = await storage.lexical_stats(tenant, ["orion", "vega", "extra"])
    assert (stats.doc_count, stats.term_total, stats.document_frequency) == (0, 0, {})
    for kind in EXPORT_KINDS:
        assert (await storage.export_page(tenant, kind, after=None, limit=10)).rows == []
    assert await storage.counts(other_tenant) == before
    assert await storage.find_api_key(hashlib.sha256(other_tenant.encode()).hexdigest()) is not None
    await expected_stats_match(storage, other_tenant)


# ---- export / import --------------------------------------------------------------------


async def _export_all(storage: Storage, tenant: str, page: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for kind in EXPORT_KINDS:
        rows: list[Any] = []
        after = None
        while True:
            result = await storage.export_page(tenant, kind, after=after, limit=page)
            assert len(result.rows) <= page
            rows += result.rows
            if result.next_after is None:
                break
            after = result.next_after
        out[kind] = rows
    return out


async def test_export_pages_and_import_is_idempotent(storage: Storage, tenant: str, other_tenant: str) -> None:
    for n in range(4):
        concepts = ["Ava", "Bo", "Cy", "Di"][: n + 2]
        await storage.learn(tenant, learn_write(tenant, f"turn {n}", f"answer {n}", concepts, session=f"s{n % 2}"))
    learned = (await storage.export_page(tenant, "memory", after=None, limit=100)).rows  # 8 ADD entries
    await storage.update_memory(tenant, learned[0].id, changes_for("turn zero"), NOW, history_id=new_id())
    full = await _export_all(storage, tenant, page=1000)
    assert [len(full[k]) for k in EXPORT_KINDS] == [8, 4, 4, 4, 6, 9]
    assert (full["history"][-1].old_content, full["history"][-1].new_content) == (learned[0].content, "turn zero")
    assert await _export_all(storage, tenant, page=2) == full
    assert [m.id for m in full["memory"]] == sorted(m.id for m in full["memory"])
    assert [(lk.concept_a, lk.concept_b) for lk in full["link"]] == sorted(
        (lk.concept_a, lk.concept_b) for lk in full["link"]
    )
    # import into another tenant, twice: the same data, once
    for _ in range(2):
        for kind in EXPORT_KINDS:
            rows = full[kind]
            if kind == "memory":
                copies = [
                    memory(other_tenant, m.content, session=m.session_id, role=m.role, memory_id=m.id) for m in rows
                ]
                await storage.insert_memories(other_tenant, copies, NOW)  # no history ids: none recorded
            else:
                await storage.import_rows(other_tenant, kind, rows)
    copy = await _export_all(storage, other_tenant, page=1000)
    assert [len(copy[k]) for k in EXPORT_KINDS] == [8, 4, 4, 4, 6, 9]
    assert copy["history"] == full["history"]  # imported as exported: old contents kept, not re-chained
    for kind in ("message", "decision", "entity", "link"):
        strip = (lambda r: {**r.__dict__, "tenant_id": None}) if kind != "link" else (lambda r: r.__dict__)
        assert [strip(r) for r in copy[kind]] == [strip(r) for r in full[kind]]
    assert await storage.counts(other_tenant) == await storage.counts(tenant)
    await expected_stats_match(storage, other_tenant)
    # imported entities and links replace what is there
    entity = full["entity"][0]
    entity.mention_count, entity.description = 99, "replaced"
    await storage.import_rows(other_tenant, "entity", [entity])
    assert (await storage.find_entities(other_tenant, [entity.key]))[0].mention_count == 99
