"""Bad input gets a JSON 4xx naming the problem, never a 500, and stored data stays intact."""

from __future__ import annotations

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


# ---- the defects of issue 11, each once a 500 (on PostgreSQL, or on every backend) -------

NON_FINITE = ("Infinity", "-Infinity", "NaN", "1e400", "-1e400", "1" + "0" * 400)
OVERFLOWING = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")
MEMORY_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def memory_line(content: str = '"imported"', metadata: str = "{}", created: str = '"2024-01-01T00:00:00Z"') -> bytes:
    return (
        f'{{"type": "memory", "id": "{MEMORY_ID}", "content": {content}, "role": "user", "instance_id": null,'
        f' "session_id": null, "metadata": {metadata}, "created_at": {created},'
        f' "updated_at": "2024-01-01T00:00:00Z", "expires_at": null}}'
    ).encode()


def _number_cases(number: str) -> list[tuple[str, str, bytes, int]]:
    metadata = f'{{"x": {number}}}'
    return [
        ("POST", "/v1/memories", f'{{"content": "n {number}", "metadata": {metadata}}}'.encode(), 422),
        ("POST", "/v1/memories/batch",
         f'{{"memories": [{{"content": "fine"}}, {{"content": "n", "metadata": {metadata}}}]}}'.encode(), 422),
        ("POST", "/v1/import", memory_line(metadata=metadata), 422),
        ("POST", "/v1/learn", f'{{"user_message": "u", "ai_response": "a", "metadata": {metadata}}}'.encode(), 422),
        ("PATCH", "/v1/memories/{kept}", f'{{"metadata": {metadata}}}'.encode(), 422),
        ("POST", "/v1/search", f'{{"query": "x", "filters": {{"metadata": {metadata}}}}}'.encode(), 422),
    ]  # fmt: skip


DEEP = "[" * 10_000 + "]" * 10_000
DEFECT_CASES = [
    # NUL in the path or the query string
    ("GET", "/v1/entities/a%00b", None, 422),
    ("GET", "/v1/memories/01M8%00", None, 422),
    ("GET", "/v1/entities?entity_type=%00", None, 422),
    ("GET", "/v1/memories?cursor=%00", None, 422),
    ("DELETE", "/v1/memories/01M8%00", None, 422),
    ("PATCH", "/v1/memories/{kept}%00", {"content": "x"}, 422),
    # numbers JSON cannot hold, in every write and in filters
    *(case for number in NON_FINITE for case in _number_cases(number)),
    # import takes what the write API takes
    ("POST", "/v1/import", memory_line(content='"nul \\u0000 inside"'), 422),
    ("POST", "/v1/import", memory_line(content='"   \\n\\t"'), 422),
    ("POST", "/v1/import", memory_line(content='""'), 422),
    ("POST", "/v1/import", memory_line(content='"bad \\ud800 half"'), 422),
    ("POST", "/v1/import", memory_line(metadata='{"k": "nul\\u0000"}'), 422),
    ("POST", "/v1/import", b'{"type": "entity", "key": "a\\u0000b", "name": "a", "entity_type": "name",'
     b' "description": "", "mention_count": 1, "created_at": "2024-01-01T00:00:00Z",'
     b' "last_seen_at": "2024-01-01T00:00:00Z"}', 422),
    # moments that leave years 1 to 9999 in UTC
    ("GET", "/v1/memories?since=9999-12-31T23:59:59-14:00", None, 422),
    ("GET", "/v1/memories?until=0001-01-01T00:00:00%2B14:00", None, 422),
    *(("POST", "/v1/search", {"query": "x", "filters": {edge: moment}}, 422)
      for moment in OVERFLOWING for edge in ("since", "until")),
    *(("POST", "/v1/memories", {"content": "x", "expires_at": moment}, 422) for moment in OVERFLOWING),
    ("POST", "/v1/memories/batch", {"memories": [{"content": "x", "expires_at": OVERFLOWING[0]}]}, 422),
    ("PATCH", "/v1/memories/{kept}", {"expires_at": OVERFLOWING[0]}, 422),
    ("POST", "/v1/import", memory_line(created=f'"{OVERFLOWING[1]}"'), 422),
    # lone surrogates
    ("POST", "/v1/memories", b'{"content": "ok", "metadata": {"a": "\\udc00"}}', 422),
    ("POST", "/v1/memories", b'{"content": "ok", "metadata": {"\\ud800": 1}}', 422),
    ("POST", "/v1/search", b'{"query": "\\ud800"}', 422),
    ("POST", "/v1/learn", b'{"user_message": "\\udfff", "ai_response": "x"}', 422),
    ("PATCH", "/v1/memories/{kept}", b'{"content": "half \\ud800"}', 422),
    # 10,000 levels of JSON
    ("POST", "/v1/memories", ('{"content": "x", "metadata": {"a": ' + DEEP + "}}").encode(), 400),
    ("POST", "/v1/search", DEEP.encode(), 400),
    ("POST", "/v1/import", ('{"type": "memory", "metadata": ' + DEEP + "}").encode(), 400),
    ("POST", "/v1/import", ("application/x-ndjson", ('{"type": "memory", "metadata": ' + DEEP + "}").encode()), 422),
    ("POST", "/v1/import", ("application/x-ndjson", DEEP.encode() + b"\n" + DEEP.encode()), 422),
    # huge metadata
    ("POST", "/v1/memories", {"content": "x", "metadata": {"k": "v" * 20_000}}, 422),
    ("POST", "/v1/memories", {"content": "x", "metadata": {f"k{i}": i for i in range(5_000)}}, 422),
    ("PATCH", "/v1/memories/{kept}", {"metadata": {"k": "v" * 20_000}}, 422),
    # limits of -1, 0 and 10**9
    *(("POST", route, {field: "x", "limit": limit}, 422)
      for route, field in (("/v1/recall", "message"), ("/v1/search", "query")) for limit in (-1, 0, 10**9)),
    *(("GET", f"{route}?limit={limit}", None, 422)
      for route in ("/v1/memories", "/v1/entities") for limit in (-1, 0, 10**9)),
    ("GET", f"/v1/entities?offset={10**9}", None, 422),
    # 100 KB queries
    ("POST", "/v1/search", {"query": "q " * 50_000}, 422),
    ("POST", "/v1/recall", {"message": "q " * 50_000}, 422),
    ("POST", "/v1/turn", {"user_message": "u", "ai_response": "a", "message": "q " * 50_000}, 422),
    ("GET", "/v1/memories?cursor=" + "c" * 10_000, None, 422),
    # wrong content types
    ("POST", "/v1/memories", ("text/plain", b'{"content": "typed as text"}'), 422),
    ("POST", "/v1/memories", ("application/x-www-form-urlencoded", b"content=form"), 422),
    ("POST", "/v1/memories", ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data;'
                              b' name="content"\r\n\r\nmultipart\r\n--b--\r\n'), 422),
    ("POST", "/v1/memories", ("application/xml", b"<content>xml</content>"), 422),
    ("POST", "/v1/search", ("text/plain", b"just words"), 422),
    ("POST", "/v1/import", ("application/x-www-form-urlencoded", b"a=1"), 422),
]  # fmt: skip
ALL_CASES = CASES + DEFECT_CASES


FTS_QUERIES = ['"', '""', '"unbalanced', "*", "a*", "NEAR", "NEAR(a b)", "a NEAR b", "-", "-a", "a:b",
               "col:term", ":", "(", ")", "a AND", "OR OR", "NOT", "^", "{}", "'; DROP TABLE memories; --",
               "%", "_", "\\", "a'b", "\u202e", "🚀🚀", "x" * 10_000]  # fmt: skip


def _send(client, method, path, body, kept=""):
    path = path.replace("{kept}", kept)
    if body is None:
        return client.request(method, path)
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    if isinstance(body, tuple):
        content_type, raw = body
        return client.request(method, path, content=raw, headers={"Content-Type": content_type})
    return client.request(method, path, json=body)


def _export(client) -> list[str]:
    """The tenant's export without its header (which holds the export's own time)."""
    response = client.get("/v1/export")
    assert response.status_code == 200
    return response.text.splitlines()[1:]


@pytest.fixture(scope="module")
def seeded(server):
    _, client = server.new_tenant()
    client.post("/v1/learn", json={"user_message": "Keep this: the vault code is 4711.", "ai_response": "Stored."})
    kept = client.post("/v1/memories", json={"content": "Never lose this memory"}).json()["id"]
    before = client.get("/v1/export").text.splitlines()[1:]
    yield client, kept, before
    client.close()


@pytest.mark.parametrize(
    "method,path,body,status", ALL_CASES, ids=[f"{c[0]} {c[1][:40]} {str(c[2])[:40]}" for c in ALL_CASES]
)
def test_bad_input_is_a_json_4xx(seeded, method, path, body, status):
    client, kept, _ = seeded
    response = _send(client, method, path, body, kept)
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert response.headers.get("x-request-id")


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


def test_errors_name_what_is_wrong(seeded):
    client, kept, _ = seeded
    expected = [
        ("GET", "/v1/entities?entity_type=%00", None, "query.entity_type: must not contain NUL characters"),
        ("GET", "/v1/memories/01M8%00", None, "path: must not contain NUL characters"),
        ("POST", "/v1/memories", b'{"content": "n", "metadata": {"a": {"b": [Infinity]}}}',
         "metadata: a.b[0]: must be a finite number"),
        ("POST", "/v1/memories/batch", b'{"memories": [{"content": "a"}, {"content": "b", "metadata": {"x": 1e400}}]}',
         "memories[1].metadata: x: must be a finite number"),
        ("POST", "/v1/import", b"\n" + memory_line(content='"  "'), "import line 2: content: must not be empty"),
        ("GET", "/v1/memories?since=9999-12-31T23:59:59-14:00", None, "query.since: is out of range once converted"),
        ("POST", "/v1/search", {"query": "x", "filters": {"until": OVERFLOWING[1]}}, "filters.until: is out of range"),
        ("POST", "/v1/search", DEEP.encode(), "request body is not valid JSON: nested too deeply"),
    ]  # fmt: skip
    for method, path, body, message in expected:
        assert _send(client, method, path, body, kept).json()["error"]["message"].startswith(message), path


def test_valid_input_at_the_edges_still_answers_as_before(seeded):
    client, _, _ = seeded
    metadata = {"big": 2**63, "huge": 10**300, "y": 1.5, "max": 1.7976931348623157e308, "tiny": 5e-324}
    created = client.post("/v1/memories", json={"content": "edge numbers in metadata", "metadata": metadata})
    assert created.status_code == 201, created.text
    stored = client.get(f"/v1/memories/{created.json()['id']}").json()["metadata"]
    # The same JSON numbers (PostgreSQL's jsonb writes 1.7976931348623157e308 out in digits).
    assert {k: float(v) for k, v in stored.items()} == {k: float(v) for k, v in metadata.items()}
    assert (stored["big"], stored["huge"], stored["y"]) == (2**63, 10**300, 1.5)
    for filters in ({"y": 1.5}, {"big": 2**63}, {"max": 1.7976931348623157e308}):
        found = client.post("/v1/search", json={"query": "edge numbers", "filters": {"metadata": filters}})
        assert found.status_code == 200, found.text
        assert [r["id"] for r in found.json()["results"]] == [created.json()["id"]], filters
    missed = client.post("/v1/search", json={"query": "edge", "filters": {"metadata": {"y": 2.5}}})
    assert missed.json()["results"] == []
    for query in ("since=9999-12-31T23:59:59Z", "until=0001-01-01T00:00:00Z", "since=9999-12-31T09:59:59-14:00"):
        listed = client.get(f"/v1/memories?{query}")
        assert listed.status_code == 200 and listed.json()["memories"] == [], query
    assert client.get("/v1/memories?since=0001-01-01T14:00:00%2B14:00").json()["memories"]
    lasting = {"content": "expires at the end of time", "expires_at": "9999-12-31T23:59:59Z"}
    far = client.post("/v1/memories", json=lasting)
    assert far.status_code == 201, far.text


def test_stored_data_is_byte_identical_after_every_bad_request(seeded):
    client, kept, _ = seeded
    before = _export(client)
    assert any(kept in line for line in before)
    responses = [_send(client, method, path, body, kept) for method, path, body, _ in ALL_CASES]
    assert 500 not in [r.status_code for r in responses]
    # Each answer leaves the connection open (a 500 used to close it), but a 413's.
    closed = [f"{r.request.method} {r.request.url.path}" for r in responses
              if r.headers.get("connection") == "close" and r.status_code != 413]  # fmt: skip
    assert closed == []
    assert _export(client) == before
    assert client.get(f"/v1/memories/{kept}").json()["content"] == "Never lose this memory"
