"""Bad input gets a JSON 4xx naming the problem, never a 500, and stored data stays intact."""

from __future__ import annotations

import json

import pytest

BIG = "x" * (1024 * 1024 + 10)

CASES = [
    ("POST", "/v1/memories", b"{not json", 400),
    ("POST", "/v1/memories", b"[1, 2, 3]", 422),
    ("POST", "/v1/memories", b"", 422),
    ("POST", "/v1/memories", b"\xff\xfe garbage", 400),
    ("POST", "/v1/memories", {"content": 12}, 422),
    ("POST", "/v1/memories", {"content": ["a"]}, 422),
    ("POST", "/v1/memories", {}, 422),
    ("POST", "/v1/memories", {"content": ""}, 422),
    ("POST", "/v1/memories", {"content": "   \n\t"}, 422),
    ("POST", "/v1/memories", {"content": "nul \u0000 inside"}, 422),
    ("POST", "/v1/memories", {"content": "ok", "metadata": {"k": "nul\u0000"}}, 422),
    ("POST", "/v1/memories", {"content": "ok", "metadata": "not an object"}, 422),
    ("POST", "/v1/memories", {"content": "ok", "expires_at": "2001-01-01T00:00:00Z"}, 422),
    ("POST", "/v1/memories", {"content": "ok", "expires_at": "next tuesday"}, 422),
    ("POST", "/v1/memories", {"content": "ok", "role": "DROP TABLE"}, 422),
    ("POST", "/v1/memories", {"content": "ok", "unknown_field": 1}, 422),
    ("POST", "/v1/memories", {"content": "ok", "session_id": ""}, 422),
    ("POST", "/v1/memories", {"content": "ok", "session_id": "bad\nid"}, 422),
    ("POST", "/v1/memories", {"content": BIG}, 413),
    ("POST", "/v1/memories/batch", {"memories": []}, 422),
    ("POST", "/v1/memories/batch", {"memories": [{"content": "ok"}] * 1001}, 422),
    ("POST", "/v1/memories/batch", {"memories": [{"content": "ok"}, {"content": ""}]}, 422),
    ("POST", "/v1/learn", {"user_message": "hi"}, 422),
    ("POST", "/v1/learn", {"user_message": "", "ai_response": ""}, 422),
    ("POST", "/v1/learn", {"user_message": 5, "ai_response": "x"}, 422),
    ("POST", "/v1/recall", {"message": ""}, 422),
    ("POST", "/v1/recall", {"message": "hi", "limit": 10**9}, 422),
    ("POST", "/v1/recall", {"message": "hi", "limit": -1}, 422),
    ("POST", "/v1/recall", {"message": "hi", "max_concepts": "many"}, 422),
    ("POST", "/v1/search", {"query": "x", "limit": 10**12}, 422),
    ("POST", "/v1/search", {"query": "x", "mode": "telepathic"}, 422),
    ("POST", "/v1/search", {"query": "x", "filters": {"since": "yesterday"}}, 422),
    ("POST", "/v1/search", {"query": "x", "filters": {"metadata": {"": 1}}}, 422),
    ("POST", "/v1/search", {"limit": 5}, 422),
    ("GET", "/v1/memories?limit=100000", None, 422),
    ("GET", "/v1/memories?limit=abc", None, 422),
    ("GET", "/v1/memories?cursor=%27%20OR%201%3D1--", None, 422),
    ("GET", "/v1/memories?since=not-a-date", None, 422),
    ("GET", "/v1/entities?limit=0", None, 422),
    ("GET", "/v1/entities?offset=-5", None, 422),
    ("GET", "/v1/memories/00000000000000000000000000", None, 404),
    ("GET", "/v1/memories/%27%3B%20DROP%20TABLE%20memories%3B--", None, 404),
    ("PATCH", "/v1/memories/01ARZ3NDEKTSV4RRFFQ69G5FAV", {"content": "x"}, 404),
    ("PATCH", "/v1/memories/01ARZ3NDEKTSV4RRFFQ69G5FAV", {"content": None}, 422),
    ("DELETE", "/v1/memories/unknown", None, 404),
    ("GET", "/v1/entities/" + "y" * 300, None, 422),
    ("GET", "/v1/no-such-route", None, 404),
    ("PUT", "/v1/memories", {"content": "x"}, 405),
    ("POST", "/v1/import", b'{"type": "memory", "id": "nope"}', 422),
    ("POST", "/v1/import", b"not json at all", 422),
    ("POST", "/v1/import", b"\xff\xfe", 422),
]

FTS_QUERIES = ['"', '""', '"unbalanced', "*", "a*", "NEAR", "NEAR(a b)", "a NEAR b", "-", "-a", "a:b",
               "col:term", ":", "(", ")", "a AND", "OR OR", "NOT", "^", "{}", "'; DROP TABLE memories; --",
               "%", "_", "\\", "a'b", "\u202e", "🚀🚀", "x" * 10_000]  # fmt: skip


def _send(client, method, path, body):
    if body is None:
        return client.request(method, path)
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    return client.request(method, path, json=body)


@pytest.fixture(scope="module")
def seeded(server):
    _, client = server.new_tenant()
    client.post("/v1/learn", json={"user_message": "Keep this: the vault code is 4711.", "ai_response": "Stored."})
    kept = client.post("/v1/memories", json={"content": "Never lose this memory"}).json()["id"]
    before = client.get("/v1/export").text.splitlines()[1:]
    yield client, kept, before
    client.close()


@pytest.mark.parametrize("method,path,body,status", CASES, ids=[f"{c[0]} {c[1][:40]} {str(c[2])[:30]}" for c in CASES])
def test_bad_input_is_a_json_4xx(seeded, method, path, body, status):
    client, _, _ = seeded
    response = _send(client, method, path, body)
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert error["code"] and error["message"]


def test_validation_errors_name_the_field(seeded):
    client, _, _ = seeded
    message = client.post("/v1/memories", json={"content": "ok", "metadata": "x"}).json()["error"]["message"]
    assert "metadata" in message
    message = client.post("/v1/memories/batch", json={"memories": [{"content": "ok"}, {"content": ""}]}).json()
    assert "memories[1].content" in message["error"]["message"]
    message = client.post("/v1/recall", json={"message": "x", "limit": 10**9}).json()["error"]["message"]
    assert message.startswith("limit")


@pytest.mark.parametrize("query", FTS_QUERIES)
def test_query_syntax_is_just_text(seeded, query):
    client, _, _ = seeded
    for mode in ("hybrid", "lexical"):
        response = client.post("/v1/search", json={"query": query, "mode": mode})
        assert response.status_code == 200, (query, response.text[:300])
    assert client.post("/v1/recall", json={"message": query}).status_code == 200


def test_odd_but_valid_unicode_round_trips(seeded):
    client, _, _ = seeded
    for text in ("日本語のメモ", "emoji 🧠🚀 and ZWJ 👩‍💻", "rtl \u202eabc", "combining e\u0301", "\U0010fffd tail"):
        created = client.post("/v1/memories", json={"content": text})
        assert created.status_code == 201, text
        assert client.get(f"/v1/memories/{created.json()['id']}").json()["content"] == text


def test_lone_surrogates_are_rejected(seeded):
    client, _, _ = seeded
    response = client.post(
        "/v1/memories", content=b'{"content": "bad \\ud800 half"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "content" in response.json()["error"]["message"]


def test_stored_data_intact_after_everything(seeded):
    client, kept, before = seeded
    for method, path, body, _ in CASES:
        _send(client, method, path, body)
    assert client.get(f"/v1/memories/{kept}").json()["content"] == "Never lose this memory"
    after = client.get("/v1/export").text.splitlines()[1:]
    originals = [json.loads(line) for line in before]
    current = [json.loads(line) for line in after]
    assert all(line in current for line in originals)
