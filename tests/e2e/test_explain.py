"""`explain: true` on recall and search over real HTTP, on every e2e target: each result's
score parts add up to its score, the plain answer is unchanged, and the result cache neither
answers an explained query nor keeps its parts."""

from __future__ import annotations

import pytest

PARTS = {"lexical", "graph", "dense", "context", "time", "recency"}
TURNS = [
    ("I adopted a dog named Biscuit last week.", "Biscuit sounds lovely; dogs need daily walks."),
    ("Biscuit loves the beach at Brighton.", "Brighton beach is great for dogs in the morning."),
    ("My sister lives in Brighton near the pier.", "Then you can visit her when you walk Biscuit."),
    ("I work on the Orion dashboard in FastAPI.", "FastAPI suits a dashboard like Orion."),
    ("My blog runs on Django these days.", "Django is a fine choice for a blog."),
]


@pytest.fixture
def taught(tenant):
    _, client = tenant
    for user, ai in TURNS:
        response = client.post("/v1/learn", json={"user_message": user, "ai_response": ai, "session_id": "s-1"})
        assert response.status_code == 200, response.text
    return client


def _check_parts(result: dict) -> None:
    explain = result["explain"]
    assert set(explain) == {"parts", "signals", "cosine"}
    assert set(explain["parts"]) == PARTS and set(explain["signals"]) == PARTS
    assert sum(explain["parts"].values()) == pytest.approx(result["score"], abs=1e-4)
    for name in ("lexical", "graph", "dense", "time"):
        assert 0.0 <= explain["signals"][name] <= 1.0 + 1e-9
    assert 0.0 < explain["signals"]["recency"] <= 1.0


def test_recall_explains_each_memory_and_the_plain_answer_is_unchanged(taught):
    plain = taught.post("/v1/recall", json={"message": "When did I adopt Biscuit?"}).json()
    explained = taught.post("/v1/recall", json={"message": "When did I adopt Biscuit?", "explain": True}).json()
    assert plain["memories"] and all("explain" not in m for m in plain["memories"])
    assert [m["id"] for m in explained["memories"]] == [m["id"] for m in plain["memories"]]
    assert [m["score"] for m in explained["memories"]] == [m["score"] for m in plain["memories"]]
    assert explained["context"] == plain["context"]
    for memory in explained["memories"]:
        _check_parts(memory)
    best = explained["memories"][0]
    assert best["explain"]["parts"]["lexical"] > 0
    assert any(m["explain"]["parts"]["time"] > 0 for m in explained["memories"])  # a "when" question
    # explain: false is the plain answer
    again = taught.post("/v1/recall", json={"message": "When did I adopt Biscuit?", "explain": False}).json()
    assert all("explain" not in m for m in again["memories"])


def test_recall_explain_shows_the_graph_part_of_linked_concepts(taught):
    body = taught.post("/v1/recall", json={"message": "What do I know about Orion?", "explain": True}).json()
    assert body["memories"] and body["relationships_found"]
    for memory in body["memories"]:
        _check_parts(memory)
    # FastAPI is linked to Orion in the graph: the words of FastAPI bring a graph part
    assert any(m["explain"]["parts"]["graph"] > 0 for m in body["memories"]), body


def test_search_explains_each_result(taught):
    request = {"query": "Orion dashboard", "limit": 5}
    plain = taught.post("/v1/search", json=request).json()
    explained = taught.post("/v1/search", json={**request, "explain": True}).json()
    assert plain["results"] and all("explain" not in r for r in plain["results"])
    assert [r["id"] for r in explained["results"]] == [r["id"] for r in plain["results"]]
    for result in explained["results"]:
        _check_parts(result)
    lexical = taught.post("/v1/search", json={**request, "mode": "lexical", "explain": True}).json()
    for result in lexical["results"]:
        _check_parts(result)
        assert result["explain"]["parts"]["graph"] == 0  # lexical mode: no graph


def test_explained_answers_are_not_cached_and_do_not_fill_the_cache(taught):
    request = {"query": "Brighton beach"}
    taught.post("/v1/search", json={**request, "explain": True})
    first = taught.post("/v1/search", json=request).json()
    assert all("explain" not in r for r in first["results"])  # not the explained answer from the cache
    second = taught.post("/v1/search", json={**request, "explain": True}).json()
    assert all("explain" in r for r in second["results"])  # not the plain answer from the cache


def test_explain_must_be_a_boolean(taught):
    response = taught.post("/v1/recall", json={"message": "Biscuit", "explain": "maybe"})
    assert response.status_code == 422
    assert "explain" in response.json()["error"]["message"]


def test_the_sdk_asks_for_explanations(server, taught):
    from continuum.client import Continuum

    with Continuum(server.url, taught.headers["X-API-Key"]) as sdk:
        recalled = sdk.recall(message="When did I adopt Biscuit?", explain=True)
        assert recalled.memories and all(m.explain is not None for m in recalled.memories)
        assert all(m.explain is None for m in sdk.recall(message="When did I adopt Biscuit?").memories)
        found = sdk.search(query="Orion dashboard", explain=True)
        assert found.results and found.results[0].explain.parts.lexical > 0
