"""`continuum serve` with embeddings on: vectors written once per memory, semantic and
hybrid search through HTTP, background and inline writes, provider outages."""

from __future__ import annotations

import time

import pytest

from tests.support.servers import SqliteTarget

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop

CAT = "The kitten is asleep on the sofa."
OTHER = ["Quarterly taxes are due in April.", "The train to Lyon leaves at noon.", "Bake the bread for forty minutes."]


def wait_semantic(client, query, content, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results = client.post("/v1/search", json={"query": query, "mode": "semantic", "limit": 3}).json()["results"]
        if results and results[0]["content"] == content:
            return results
        time.sleep(0.05)
    raise AssertionError(f"{content!r} never came first for {query!r}")


@pytest.fixture(scope="module")
def local_server():
    server = SqliteTarget().start(
        require_api_key=False,
        extra_env={"CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "local"},
    )
    yield server
    server.stop()


def test_semantic_and_hybrid_search_find_meaning_without_shared_words(local_server):
    _, client = local_server.new_tenant()
    with client:
        stored = client.post("/v1/memories/batch", json={"memories": [{"content": c} for c in [CAT, *OTHER]]})
        assert stored.status_code == 200
        wait_semantic(client, "a young cat napping on the couch", CAT)
        assert client.post("/v1/search", json={"query": "young cat napping couch", "mode": "lexical"}).json()[
            "results"
        ] == []
        hybrid = client.post("/v1/search", json={"query": "young cat napping couch"}).json()["results"]
        assert hybrid[0]["content"] == CAT
        recalled = client.post("/v1/recall", json={"message": "Where is the young cat napping?"}).json()
        assert recalled["memories"][0]["content"] == CAT and CAT in recalled["context"]
        # a content change replaces the vector: the new meaning is found, the old one no longer first
        memory_id = stored.json()["results"][0]["id"]
        patched = client.patch(f"/v1/memories/{memory_id}", json={"content": "The stock market fell sharply today."})
        assert patched.status_code == 200
        wait_semantic(client, "shares dropped on the exchange", "The stock market fell sharply today.")
        first = client.post("/v1/search", json={"query": "a young cat napping on the couch", "mode": "semantic"})
        assert CAT not in [r["content"] for r in first.json()["results"]]
        # learned turns are embedded too
        learned = client.post("/v1/learn", json={"user_message": "My violin lesson moved to Thursday.",
                                                  "ai_response": "Noted."})  # fmt: skip
        assert learned.status_code == 200
        wait_semantic(client, "when is the music class on the fiddle", "My violin lesson moved to Thursday.")


def test_semantic_search_is_per_tenant(local_server):
    _, a = local_server.new_tenant()
    _, b = local_server.new_tenant()
    with a, b:
        a.post("/v1/memories", json={"content": CAT})
        wait_semantic(a, "a young cat napping on the couch", CAT)
        assert b.post("/v1/search", json={"query": CAT, "mode": "semantic"}).json()["results"] == []
        assert b.post("/v1/recall", json={"message": CAT}).json()["memories"] == []


@pytest.fixture(scope="module")
def remote_servers(embedding_endpoint):
    env = {
        "CONTINUUM_ENABLE_EMBEDDINGS": "true",
        "CONTINUUM_EMBEDDING_PROVIDER": "openai",
        "CONTINUUM_EMBEDDING_URL": embedding_endpoint.url,
        "CONTINUUM_EMBEDDING_API_KEY": embedding_endpoint.api_key,
        "CONTINUUM_EMBEDDING_MODEL": "mini",
    }
    servers = {
        mode: SqliteTarget().start(require_api_key=False, extra_env={**env, "CONTINUUM_EMBEDDING_WRITE": mode})
        for mode in ("background", "inline")
    }
    yield servers
    for server in servers.values():
        server.stop()


def test_inline_writes_are_searchable_by_vector_at_once(remote_servers, embedding_endpoint):
    embedding_endpoint.mode = "ok"
    _, client = remote_servers["inline"].new_tenant()
    with client:
        client.post("/v1/memories/batch", json={"memories": [{"content": c} for c in [CAT, *OTHER]]})
        results = client.post("/v1/search", json={"query": "a young cat napping on the couch", "mode": "semantic"})
        assert results.json()["results"][0]["content"] == CAT  # no waiting: embedded within the write


@pytest.mark.parametrize("mode", ["background", "inline"])
def test_a_provider_outage_never_fails_a_write_and_is_caught_up_later(remote_servers, embedding_endpoint, mode):
    server = remote_servers[mode]
    _, client = server.new_tenant()
    with client:
        embedding_endpoint.mode = "fail"
        try:
            stored = client.post("/v1/memories/batch", json={"memories": [{"content": CAT}]})
            assert stored.status_code == 200 and stored.json()["results"][0]["status"] == "stored"
            assert client.post("/v1/search", json={"query": "kitten sofa"}).json()["results"][0]["content"] == CAT
            time.sleep(0.3)
            assert client.post("/v1/search", json={"query": CAT, "mode": "semantic"}).json()["results"] == []
        finally:
            embedding_endpoint.mode = "ok"
        if mode == "inline":  # the tenant's next write catches up
            client.post("/v1/memories", json={"content": OTHER[0]})
        wait_semantic(client, "a young cat napping on the couch", CAT)
