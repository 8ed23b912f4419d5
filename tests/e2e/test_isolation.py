"""Two tenants on one server never read, change or count each other's data."""

from __future__ import annotations

import json

SECRET = "Project Nightingale launches on the ninth of March with the Falcon rocket"


def _seed(client, text):
    client.post("/v1/learn", json={"user_message": text, "ai_response": "Understood, Nightingale and Falcon noted."})
    return client.post("/v1/memories", json={"content": text + " (memo)", "session_id": "shared-session"}).json()["id"]


def test_tenants_are_isolated(server):
    a_id, a = server.new_tenant()
    b_id, b = server.new_tenant()
    with a, b:
        a_memory = _seed(a, SECRET)
        b.post("/v1/memories", json={"content": "an unrelated note about gardening"})

        # reads
        assert b.get(f"/v1/memories/{a_memory}").status_code == 404
        assert a_memory not in json.dumps(b.get("/v1/memories", params={"limit": 1000}).json())
        assert b.get("/v1/memories", params={"session_id": "shared-session"}).json()["memories"] == []
        # searches and recall
        for mode in ("hybrid", "lexical"):
            assert (
                b.post("/v1/search", json={"query": "Nightingale Falcon March", "mode": mode}).json()["results"] == []
            )
        recall = b.post("/v1/recall", json={"message": "When does Nightingale launch?"}).json()
        assert recall["memories"] == [] and "Nightingale" not in recall["context"]
        assert recall["concepts_found"] == [] and recall["relationships_found"] == []
        # counts
        stats_b = b.get("/v1/stats").json()
        assert stats_b == {"tenant_id": b_id, "entities": 0, "messages": 0, "decisions": 0,
                           "attention_links": 0, "memories": 1}  # fmt: skip
        # exports
        export_b = b.get("/v1/export").text
        assert "Nightingale" not in export_b and a_id not in export_b
        # entity lists
        assert b.get("/v1/entities").json()["entities"] == []
        assert b.get("/v1/entities/Nightingale").status_code == 404
        # changes: another tenant's memory cannot be patched or deleted, and stays intact
        assert b.patch(f"/v1/memories/{a_memory}", json={"content": "hijacked"}).status_code == 404
        assert b.delete(f"/v1/memories/{a_memory}").status_code == 404
        assert a.get(f"/v1/memories/{a_memory}").json()["content"] == SECRET + " (memo)"
        # the same content in both tenants is not a cross-tenant duplicate
        same = b.post("/v1/memories", json={"content": SECRET + " (memo)", "session_id": "shared-session"})
        assert same.status_code == 201 and same.json()["id"] != a_memory
        # importing A's export into B stays inside B
        a_export = a.get("/v1/export").content
        assert b.post("/v1/import", content=a_export).status_code == 200
        stats_a = a.get("/v1/stats").json()
        assert stats_a["memories"] == 3 and stats_a["tenant_id"] == a_id
        # A's ranking is not influenced by B's data volume (per-tenant statistics)
        before = a.post("/v1/search", json={"query": "Nightingale gardening"}).json()["results"]
        b.post("/v1/memories/batch", json={"memories": [{"content": f"Nightingale gardening {i}"} for i in range(50)]})
        after = a.post("/v1/search", json={"query": "Nightingale gardening"}).json()["results"]
        assert [(r["id"], r["score"]) for r in before] == [(r["id"], r["score"]) for r in after]


def test_erasing_one_tenant_leaves_the_other(server):
    a_id, a = server.new_tenant()
    _, b = server.new_tenant()
    with a, b:
        _seed(a, SECRET)
        _seed(b, SECRET)
        with server.admin() as admin:
            assert admin.delete(f"/v1/tenants/{a_id}").status_code == 200
        stats_b = b.get("/v1/stats").json()
        assert stats_b["memories"] == 3 and stats_b["entities"] > 0
        assert b.post("/v1/search", json={"query": "Nightingale"}).json()["results"]
