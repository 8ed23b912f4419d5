"""LangGraph's store interface on CONTINUUM, against real servers.

No conformance suite for `BaseStore` ships with langgraph or langgraph-checkpoint (the
`langgraph-checkpoint-conformance` package covers checkpointers only), so the checks below
are derived from `BaseStore`'s documented semantics. Each check runs on `ContinuumStore`
over every target and, unchanged, on LangGraph's own `InMemoryStore`: the reference
implementation passing them shows they test LangGraph's semantics, not ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore
from langmem import create_manage_memory_tool, create_search_memory_tool

from continuum.client import Continuum
from continuum.integrations.langgraph import AsyncContinuumStore, ContinuumStore
from tests.e2e.test_client import documented_examples, run_example

VALUE = {"content": "Alice prefers vegetarian food 🥦", "tags": ["food", "diet"], "stars": 4.5,
         "nested": {"level": {"deep": [1, None, True, {"a": {"b": {"c": {"d": {"e": {"f": 2**70}}}}}}]}},
         "count": 3}  # fmt: skip


def keys(items: list[Item]) -> set[tuple[tuple[str, ...], str]]:
    return {(item.namespace, item.key) for item in items}


def check_put_get_round_trip(store: BaseStore) -> None:
    store.put(("users", "alice"), "profile", VALUE)
    item = store.get(("users", "alice"), "profile")
    assert isinstance(item, Item) and item.value == VALUE and json.dumps(item.value) == json.dumps(VALUE)
    assert item.namespace == ("users", "alice") and item.key == "profile"
    assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
    assert item.updated_at >= item.created_at
    assert store.get(("users", "alice"), "missing") is None
    assert store.get(("users", "bob"), "profile") is None  # same key, another namespace


def check_put_replaces_and_delete_removes(store: BaseStore) -> None:
    store.put(("notes",), "n1", {"text": "first version"})
    first = store.get(("notes",), "n1")
    store.put(("notes",), "n1", {"text": "second version", "extra": 1})
    second = store.get(("notes",), "n1")
    assert second.value == {"text": "second version", "extra": 1}
    assert second.updated_at >= first.updated_at  # (created_at: kept here, renewed by InMemoryStore)
    assert [i.key for i in store.search(("notes",))] == ["n1"]  # one item per namespace + key
    store.put(("notes",), "n2", {"text": "second version", "extra": 1})  # the same value under another key
    assert keys(store.search(("notes",))) == {(("notes",), "n1"), (("notes",), "n2")}
    store.delete(("notes",), "n1")
    assert store.get(("notes",), "n1") is None
    store.batch([PutOp(("notes",), "n2", None)])  # a put of None deletes
    assert store.search(("notes",)) == []
    store.delete(("notes",), "never-there")  # deleting nothing is not an error


def check_search_prefix_filter_and_pages(store: BaseStore) -> None:
    for n in range(5):
        store.put(("docs", "team-a" if n % 2 else "team-b"), f"d{n}",
                  {"n": n, "kind": "report" if n < 3 else "memo", "meta": {"lang": "en" if n else "fr"}})  # fmt: skip
    store.put(("other",), "x", {"n": 99, "kind": "report"})
    assert len(store.search(("docs",), limit=100)) == 5
    assert keys(store.search(("docs", "team-a"))) == {(("docs", "team-a"), "d1"), (("docs", "team-a"), "d3")}
    assert (("other",), "x") in keys(store.search((), limit=100))
    assert {i.value["n"] for i in store.search(("docs",), filter={"kind": "report"})} == {0, 1, 2}
    assert {i.value["n"] for i in store.search(("docs",), filter={"n": {"$gte": 2, "$lt": 4}})} == {2, 3}
    assert {i.value["n"] for i in store.search(("docs",), filter={"kind": {"$ne": "report"}})} == {3, 4}
    assert {i.value["n"] for i in store.search(("docs",), filter={"meta": {"lang": "fr"}})} == {0}
    assert {i.value["n"] for i in store.search(("docs",), filter={"kind": "memo", "n": 4})} == {4}
    pages = [store.search(("docs",), limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert set().union(*(keys(p) for p in pages)) == keys(store.search(("docs",), limit=10))
    assert all(isinstance(i, SearchItem) and i.score is None for i in pages[0])  # no query: no score


def check_list_namespaces(store: BaseStore) -> None:
    for namespace in (("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("f", "b", "v1"), ("g", "v1")):
        store.put(namespace, "k", {"v": 1})
    listed = store.list_namespaces(limit=100)
    assert [ns for ns in listed if ns[0] in "afg"] == [("a", "b", "c"), ("a", "b", "d"), ("a", "e"),
                                                      ("f", "b", "v1"), ("g", "v1")]  # fmt: skip
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e")]
    assert store.list_namespaces(prefix=("a", "*", "d")) == [("a", "b", "d")]
    assert store.list_namespaces(suffix=("v1",)) == [("f", "b", "v1"), ("g", "v1")]
    assert store.list_namespaces(prefix=("a",), max_depth=2) == [("a", "b"), ("a", "e")]
    assert store.list_namespaces(prefix=("a",), limit=1, offset=1) == [("a", "b", "d")]
    assert store.list_namespaces(prefix=("a",), suffix=("c",)) == [("a", "b", "c")]


def check_batch_and_bad_namespaces(store: BaseStore) -> None:
    results = store.batch([
        PutOp(("batch",), "one", {"v": 1}),
        PutOp(("batch",), "two", {"v": 2}),
        GetOp(("batch",), "nothing"),
        ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("batch",)),)),
    ])  # fmt: skip
    assert results[:3] == [None, None, None] and results[3] == [("batch",)]
    results = store.batch([GetOp(("batch",), "one"), SearchOp(("batch",), filter={"v": 2})])
    assert results[0].value == {"v": 1} and [i.key for i in results[1]] == ["two"]
    for bad in (("langgraph", "x"), ("a.b",), ("",), ()):
        with pytest.raises((InvalidNamespaceError, ValueError)):
            store.put(bad, "k", {"v": 1})


CHECKS: list[Callable[[BaseStore], None]] = [
    check_put_get_round_trip, check_put_replaces_and_delete_removes, check_search_prefix_filter_and_pages,
    check_list_namespaces, check_batch_and_bad_namespaces,
]  # fmt: skip


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_reference_store_passes_the_checks(check):
    check(InMemoryStore())


@pytest.fixture
def store(server) -> Iterator[ContinuumStore]:
    _, http = server.new_tenant()
    with http, ContinuumStore(base_url=server.url, api_key=http.headers["X-API-Key"]) as made:
        yield made


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_continuum_store_passes_the_checks(store, check):
    check(store)


def test_a_replaced_item_keeps_its_creation_time(store):
    store.put(("notes",), "n1", {"text": "first version"})
    first = store.get(("notes",), "n1")
    store.put(("notes",), "n1", {"text": "second version"})
    second = store.get(("notes",), "n1")
    assert second.created_at == first.created_at and second.updated_at > first.updated_at


def test_query_search_is_ranked_by_continuum(store):
    namespace = ("memories", "alice")
    store.put(namespace, "food", {"content": "Alice is vegetarian and loves spicy Thai curry"})
    store.put(namespace, "work", {"content": "Alice works on the Orion rocket telemetry team"})
    store.put(namespace, "pet", {"content": "Alice has a cat named Miso"})
    store.put(("memories", "bob"), "food", {"content": "Bob loves Thai curry too"})
    hits = store.search(namespace, query="Thai curry food")
    assert hits[0].key == "food" and hits[0].namespace == namespace
    assert all(isinstance(h.score, float) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert (("memories", "bob"), "food") not in keys(hits)  # the prefix holds for ranked search too
    assert (("memories", "bob"), "food") in keys(store.search(("memories",), query="Thai curry"))
    assert [h.key for h in store.search(namespace, query="rocket telemetry", limit=1)] == ["work"]
    assert store.search(namespace, query="Thai curry", filter={"content": "nothing like it"}) == []
    store.put(namespace, "food", {"content": "Alice now eats fish"})  # replaced: ranked on the new text
    assert "food" not in [h.key for h in store.search(namespace, query="Thai curry")]
    assert store.search(namespace, query="fish")[0].value == {"content": "Alice now eats fish"}


def test_index_fields_choose_what_is_ranked(server):
    _, http = server.new_tenant()
    with http, ContinuumStore(base_url=server.url, api_key=http.headers["X-API-Key"],
                              index={"fields": ["title"]}) as store:  # fmt: skip
        store.put(("kb",), "a", {"title": "Kubernetes upgrade runbook", "body": "penguin"})
        store.put(("kb",), "b", {"title": "Holiday calendar", "body": "kubernetes"}, index=["body"])
        assert [h.key for h in store.search(("kb",), query="penguin")] == []  # body of `a` is not indexed
        assert {h.key for h in store.search(("kb",), query="kubernetes")} == {"a", "b"}


def test_stores_of_two_tenants_never_meet(server):
    (_, a_http), (_, b_http) = server.new_tenant(), server.new_tenant()
    with a_http, b_http, ContinuumStore(client=Continuum(server.url, a_http.headers["X-API-Key"])) as a, \
            ContinuumStore(client=Continuum(server.url, b_http.headers["X-API-Key"])) as b:  # fmt: skip
        a.put(("shared", "ns"), "secret", {"content": "tenant a's launch code is 0000"})
        assert b.get(("shared", "ns"), "secret") is None
        assert b.search(("shared",)) == [] and b.search(("shared",), query="launch code") == []
        assert b.list_namespaces() == []
        b.delete(("shared", "ns"), "secret")
        assert a.get(("shared", "ns"), "secret").value["content"].startswith("tenant a")
        a.client.close()
        b.client.close()


async def test_the_async_store(server):
    _, http = server.new_tenant()
    async with AsyncContinuumStore(base_url=server.url, api_key=http.headers["X-API-Key"]) as store:
        await store.aput(("users", "carol"), "likes", {"content": "Carol likes jazz and espresso"})
        await store.aput(("users", "carol"), "plays", {"content": "Carol plays the double bass"})
        item = await store.aget(("users", "carol"), "likes")
        assert item.value == {"content": "Carol likes jazz and espresso"}
        hits = await store.asearch(("users",), query="espresso jazz")
        assert hits[0].key == "likes" and hits[0].score is not None
        assert await store.alist_namespaces(prefix=("users",)) == [("users", "carol")]
        assert store.get(("users", "carol"), "plays").value["content"].endswith("bass")  # sync, same store
        await store.adelete(("users", "carol"), "likes")
        assert await store.aget(("users", "carol"), "likes") is None
        assert [i.key for i in await store.asearch(("users", "carol"))] == ["plays"]
    http.close()


async def test_langmem_memory_tools_on_the_store(server, store):
    """LangMem's tools as an agent calls them (no LLM: the tool calls are made directly)."""
    namespace = ("memories", "dana")
    manage = create_manage_memory_tool(namespace, store=store)
    search = create_search_memory_tool(namespace, store=store)
    created = manage.invoke({"content": "Dana prefers morning meetings before 10am"})
    memory_id = created.removeprefix("created memory ")
    manage.invoke({"content": "Dana's favourite editor is Helix"})
    found = json.loads(search.invoke({"query": "when does Dana like meetings?"}))
    assert found[0]["key"] == memory_id
    assert found[0]["value"] == {"content": "Dana prefers morning meetings before 10am"}
    assert found[0]["namespace"] == list(namespace) and found[0]["score"] is not None
    manage.invoke({"content": "Dana prefers afternoon meetings now", "action": "update", "id": memory_id})
    assert store.get(namespace, memory_id).value == {"content": "Dana prefers afternoon meetings now"}
    assert len(store.search(namespace)) == 2  # the update replaced the memory
    manage.invoke({"action": "delete", "id": memory_id})
    assert store.get(namespace, memory_id) is None
    remaining = json.loads(await search.ainvoke({"query": "Helix editor"}))
    assert [m["value"]["content"] for m in remaining] == ["Dana's favourite editor is Helix"]

    async with AsyncContinuumStore(client=store.client.async_client()) as async_store:
        amanage = create_manage_memory_tool(namespace, store=async_store)
        asearch = create_search_memory_tool(namespace, store=async_store)
        await amanage.ainvoke({"content": "Dana is learning Portuguese"})
        hits = json.loads(await asearch.ainvoke({"query": "Portuguese"}))
        assert hits[0]["value"]["content"] == "Dana is learning Portuguese"


def test_the_documented_examples_run(server):
    _, http = server.new_tenant()
    with http:
        store_example, langmem_example = documented_examples("LangGraph store")
        out = run_example(store_example, server, http.headers["X-API-Key"])
        assert "Thai curry" in out and "('memories', 'alice')" in out
        assert "created memory" in run_example(langmem_example, server, http.headers["X-API-Key"])
