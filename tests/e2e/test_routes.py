"""Every route of the API over real HTTP, with auth required and with auth off."""

from __future__ import annotations

import json

import pytest

TURN = {
    "user_message": "I decided to build the Orion dashboard with FastAPI and PostgreSQL.",
    "ai_response": "Good choice: FastAPI with PostgreSQL suits Orion; add Redis for caching.",
    "session_id": "s-1",
    "instance_id": "agent-1",
    "metadata": {"channel": "chat"},
}


def test_health_needs_no_key_and_tells_strangers_only_the_status(server):
    with server.client() as anonymous, server.client("ck_not-a-key") as refused:
        for client in (anonymous, refused):
            response = client.get("/v1/health")
            assert response.status_code == 200
            assert response.json() == {"status": "ok"}
            head = client.head("/v1/health")
            assert head.status_code == 200 and head.content == b""  # what a load balancer may send


def test_health_gives_a_tenant_the_checks_without_details(tenant):
    _, client = tenant
    body = client.get("/v1/health").json()
    assert set(body) == {"status", "checks"} and body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "disk_space"} and body["checks"]["database"] == "ok"
    assert set(body["checks"].values()) <= {"ok", "disabled"}  # states only: no hosts, errors or sizes


def test_health_gives_the_admin_everything(server):
    with server.admin() as admin:
        body = admin.get("/v1/health").json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "disk_space"}
    assert body["checks"]["database"] == "ok"
    assert body["version"] and body["uptime_seconds"] >= 0
    assert body["details"]["storage"] and "database_latency_ms" in body["details"]


def test_health_in_open_mode_gives_everything(open_server):
    with open_server.client() as anonymous:
        body = anonymous.get("/v1/health").json()
    assert body["version"] and body["details"]["storage"]


def test_docs_and_openapi_need_no_key(server):
    with server.client() as anonymous:
        spec = anonymous.get("/openapi.json")
        docs = anonymous.get("/docs")
    assert spec.status_code == 200 and docs.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/v1/learn", "/v1/recall", "/v1/turn", "/v1/memories", "/v1/memories/batch",
                 "/v1/memories/{memory_id}", "/v1/search", "/v1/entities", "/v1/entities/{name}",
                 "/v1/stats", "/v1/keys", "/v1/tenants", "/v1/tenants/{tenant_id}", "/v1/export",
                 "/v1/import", "/v1/health", "/metrics"):  # fmt: skip
        assert path in paths, path


def test_learn_then_recall_sees_it(tenant):
    tenant_id, client = tenant
    learned = client.post("/v1/learn", json=TURN)
    assert learned.status_code == 200, learned.text
    body = learned.json()
    assert body["tenant_id"] == tenant_id
    assert body["concepts_extracted"] >= 4
    assert body["decisions_detected"] == 1
    assert body["links_created"] >= 3
    assert len(body["memory_ids"]) == 2

    recalled = client.post("/v1/recall", json={"message": "What did we pick for the Orion dashboard?"})
    assert recalled.status_code == 200, recalled.text
    result = recalled.json()
    assert result["tenant_id"] == tenant_id
    assert result["memories"], result
    assert result["memories"][0]["id"] in body["memory_ids"]
    assert "Orion" in result["concepts_found"]
    assert any({r["source"], r["target"]} >= {"Orion"} for r in result["relationships_found"])
    assert "FastAPI" in result["context"]
    assert result["query_time_ms"] >= 0


def test_turn_learns_and_recalls(tenant):
    _, client = tenant
    response = client.post("/v1/turn", json={
        "user_message": "My cat is called Nimbus and she loves the garden.",
        "ai_response": "Nimbus sounds lovely!",
        "message": "What is my cat called?",
    })  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"recall", "learn"}
    assert len(body["learn"]["memory_ids"]) == 2
    assert any("Nimbus" in m["content"] for m in body["recall"]["memories"])


def test_memory_crud_and_pagination(tenant):
    _, client = tenant
    created = client.post("/v1/memories", json={
        "content": "The deploy key rotates every 90 days", "role": "note",
        "session_id": "ops", "metadata": {"team": "infra", "priority": 2},
    })  # fmt: skip
    assert created.status_code == 201, created.text
    memory_id = created.json()["id"]
    assert created.json()["status"] == "stored"

    again = client.post("/v1/memories", json={"content": "The deploy key rotates every 90 days", "session_id": "ops"})
    assert again.status_code == 200
    assert again.json() == {"id": memory_id, "status": "duplicate", "tenant_id": created.json()["tenant_id"]}

    fetched = client.get(f"/v1/memories/{memory_id}").json()
    assert fetched["content"] == "The deploy key rotates every 90 days"
    assert fetched["metadata"] == {"team": "infra", "priority": 2}
    assert fetched["role"] == "note" and fetched["session_id"] == "ops"

    patched = client.patch(f"/v1/memories/{memory_id}", json={
        "content": "The deploy key rotates every 30 days", "metadata": {"team": "security"},
    })  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["content"] == "The deploy key rotates every 30 days"
    assert patched.json()["metadata"] == {"team": "security"}
    found = client.post("/v1/search", json={"query": "rotates 30 days"}).json()["results"]
    assert [r["id"] for r in found][:1] == [memory_id]
    assert client.post("/v1/search", json={"query": "90"}).json()["results"] == []

    batch = client.post("/v1/memories/batch", json={"memories": [
        {"content": f"note number {i}", "session_id": "pages"} for i in range(7)
    ] + [{"content": "note number 3", "session_id": "pages"}]})  # fmt: skip
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["status"] for r in results] == ["stored"] * 7 + ["duplicate"]
    assert results[7]["id"] == results[3]["id"]

    seen, cursor = [], None
    while True:
        params = {"limit": 3, "session_id": "pages"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/memories", params=params).json()
        seen += [m["id"] for m in page["memories"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted({r["id"] for r in results}, reverse=True)

    assert client.delete(f"/v1/memories/{memory_id}").status_code == 204
    assert client.get(f"/v1/memories/{memory_id}").status_code == 404
    assert client.delete(f"/v1/memories/{memory_id}").status_code == 404


def test_search_modes_and_filters(tenant):
    _, client = tenant
    rows = [
        ("Alice prefers dark roast coffee", "user", "a", {"topic": "coffee", "n": 1}),
        ("Bob prefers green tea over coffee", "assistant", "b", {"topic": "tea", "n": 2}),
        ("Coffee beans arrive on Tuesday", "user", "a", {"topic": "coffee", "n": "1"}),
    ]
    memories = [{"content": c, "role": r, "session_id": s, "metadata": m} for c, r, s, m in rows]
    client.post("/v1/memories/batch", json={"memories": memories})
    for mode in ("hybrid", "lexical"):
        results = client.post("/v1/search", json={"query": "coffee", "mode": mode}).json()["results"]
        assert len(results) == 3, mode
        assert all(
            set(r) >= {"id", "content", "score", "metadata", "created_at", "instance_id", "session_id"} for r in results
        )
        assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    only_a = client.post("/v1/search", json={"query": "coffee", "filters": {"session_id": "a"}}).json()["results"]
    assert {r["content"] for r in only_a} == {"Alice prefers dark roast coffee", "Coffee beans arrive on Tuesday"}
    by_role = client.post("/v1/search", json={"query": "coffee", "filters": {"role": "assistant"}}).json()["results"]
    assert [r["content"] for r in by_role] == ["Bob prefers green tea over coffee"]
    typed = client.post("/v1/search", json={"query": "coffee", "filters": {"metadata": {"n": 1}}}).json()["results"]
    assert [r["content"] for r in typed] == ["Alice prefers dark roast coffee"]
    future = client.post("/v1/search", json={"query": "coffee", "filters": {"since": "2999-01-01T00:00:00Z"}}).json()
    assert future["results"] == []
    semantic = client.post("/v1/search", json={"query": "coffee", "mode": "semantic"})
    assert semantic.status_code in (200, 422)
    if semantic.status_code == 422:
        assert semantic.json()["error"]["code"] == "invalid_input"


def test_entities_and_stats(tenant):
    tenant_id, client = tenant
    client.post("/v1/learn", json=TURN)
    client.post("/v1/learn", json={"user_message": "Orion also needs Redis.", "ai_response": "Redis it is for Orion."})
    entities = client.get("/v1/entities").json()
    names = {e["name"] for e in entities["entities"]}
    assert {"Orion", "FastAPI", "PostgreSQL", "Redis"} <= names
    technical = client.get("/v1/entities", params={"entity_type": "technical"}).json()["entities"]
    assert technical and all(e["entity_type"] == "technical" for e in technical)
    page = client.get("/v1/entities", params={"limit": 2, "offset": 1}).json()
    assert len(page["entities"]) == 2 and page["offset"] == 1
    orion = client.get("/v1/entities/orion")
    assert orion.status_code == 200
    detail = orion.json()
    assert detail["name"] == "Orion" and detail["mention_count"] == 2
    links = {link["concept"]: link for link in detail["links"]}
    assert links["Redis"]["occurrences"] == 2
    assert links["Redis"]["strength"] > links["FastAPI"]["strength"]
    assert client.get("/v1/entities/nothing-like-this").status_code == 404
    stats = client.get("/v1/stats").json()
    assert stats["tenant_id"] == tenant_id
    assert stats["messages"] == 2 and stats["memories"] == 4 and stats["decisions"] == 1
    assert stats["entities"] == len(names) and stats["attention_links"] >= 6


def test_admin_routes(server):
    with server.admin() as admin:
        created = admin.post("/v1/keys", json={"tenant_id": "acme-admin-test", "name": "CI key"})
        assert created.status_code == 201
        key = created.json()["api_key"]
        assert created.json()["tenant_id"] == "acme-admin-test"
        with server.client(key) as acme:
            assert acme.post("/v1/memories", json={"content": "acme secret plan"}).status_code == 201
            assert acme.get("/v1/tenants").status_code == 403
            assert acme.post("/v1/keys", json={"tenant_id": "acme-admin-test"}).status_code == 403
        tenants = admin.get("/v1/tenants").json()["tenants"]
        assert "acme-admin-test" in {t["tenant_id"] for t in tenants}
        erased = admin.delete("/v1/tenants/acme-admin-test")
        assert erased.status_code == 200, erased.text
        assert erased.json()["erased"]["memories"] == 1
        with server.client(key) as acme:
            assert acme.get("/v1/stats").status_code == 401  # its keys are gone too
        assert admin.delete("/v1/tenants/acme-admin-test").status_code == 404
        acting = admin.get("/v1/stats", headers={"X-Continuum-Tenant": "acme-admin-test"}).json()
        assert acting["memories"] == 0


def test_export_and_import_routes(tenant, server):
    tenant_id, client = tenant
    client.post("/v1/learn", json=TURN)
    exported = client.get("/v1/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["tenant_id"] == tenant_id
    assert {line["type"] for line in lines} == {"header", "memory", "message", "decision", "entity", "link", "history"}
    _, other = server.new_tenant()
    with other:
        imported = other.post("/v1/import", content=exported.content, headers={"Content-Type": "application/x-ndjson"})
        assert imported.status_code == 200, imported.text
        assert imported.json()["imported"]["memory"] == 2
        again = other.post("/v1/import", content=exported.content).json()
        assert again["imported"].get("memory", 0) == 0 and again["skipped"]["memory"] == 2
        assert other.get("/v1/stats").json()["memories"] == 2


def test_metrics(server):
    with server.client() as anonymous:
        assert anonymous.get("/metrics").status_code == 401
    with server.admin() as admin:
        admin.get("/v1/stats")
        response = admin.get("/metrics")
    assert response.status_code == 200
    text = response.text
    for name in ("continuum_requests_total", "continuum_request_duration_seconds",
                 "continuum_memories_stored_total", "continuum_concepts_extracted_total",
                 "continuum_cache_hits_total", "continuum_cache_misses_total"):  # fmt: skip
        assert name in text, name
    assert 'endpoint="/v1/stats"' in text


@pytest.mark.parametrize("path", ["/v1/stats", "/v1/memories", "/v1/entities", "/v1/export"])
def test_open_mode_uses_default_tenant(open_server, path):
    with open_server.client() as anonymous:
        response = anonymous.get(path)
    assert response.status_code == 200
    if path == "/v1/stats":
        assert response.json()["tenant_id"] == "default"


def test_open_mode_full_cycle(open_server):
    with open_server.client() as anonymous:
        learned = anonymous.post(
            "/v1/learn", json={"user_message": "Zephyr is our build bot.", "ai_response": "Noted."}
        )
        assert learned.status_code == 200 and learned.json()["tenant_id"] == "default"
        recalled = anonymous.post("/v1/recall", json={"message": "who is Zephyr?"}).json()
        assert any("Zephyr" in m["content"] for m in recalled["memories"])
        # An admin key is configured, so admin routes still need it even in open mode.
        assert anonymous.get("/v1/tenants").status_code == 403
    with open_server.admin() as admin:
        assert admin.get("/v1/tenants").status_code == 200
