"""Durability: data survives a restart; export then import into a fresh database is lossless."""

from __future__ import annotations

import json

from tests.support.servers import TARGETS

TURNS = [
    ("I decided to name the release Aurora and ship it in May.", "Aurora in May, noted."),
    ("Aurora needs the PostgreSQL migration first.", "Then PostgreSQL comes before Aurora."),
    ("Kim owns the Aurora launch checklist.", "Kim and Aurora, got it."),
]
QUERIES = ["When does Aurora ship?", "Who owns the launch checklist?", "PostgreSQL migration"]


def _fill(client):
    for user, ai in TURNS:
        assert (
            client.post("/v1/learn", json={"user_message": user, "ai_response": ai, "session_id": "rel"}).status_code
            == 200
        )
    client.post("/v1/memories/batch", json={"memories": [
        {"content": "Aurora's code name was Borealis", "metadata": {"source": "wiki", "tags": ["a", "b"]}},
        {"content": "Expiring reminder", "expires_at": "2999-01-01T00:00:00Z"},
        {"content": "Ünïcode ✓ 日本語 🚀 \u200f", "role": "note"},
    ]})  # fmt: skip


def _snapshot(client):
    results = {q: client.post("/v1/search", json={"query": q}).json()["results"] for q in QUERIES}
    recalls = {q: client.post("/v1/recall", json={"message": q}).json() for q in QUERIES}
    for recall in recalls.values():
        recall.pop("query_time_ms")
    export = [json.loads(line) for line in client.get("/v1/export").text.splitlines()][1:]
    return {"stats": client.get("/v1/stats").json(), "search": results, "recall": recalls, "export": export}


def test_data_survives_restart(target_name):
    running = TARGETS[target_name]().start(require_api_key=True)
    try:
        _, client = running.new_tenant("durable")
        key = client.headers["X-API-Key"]
        with client:
            _fill(client)
            before = _snapshot(client)
        running.restart()
        with running.client(key) as client:
            after = _snapshot(client)
        assert after == before
        assert after["stats"]["memories"] == 9
    finally:
        running.stop()


def test_export_import_into_fresh_database_is_identical(target_name, server):
    tenant_id, source = server.new_tenant()
    with source:
        _fill(source)
        original = _snapshot(source)
        exported = source.get("/v1/export").content
    fresh = TARGETS[target_name]().start(require_api_key=True)
    try:
        _, target = fresh.new_tenant(tenant_id)
        with target:
            imported = target.post("/v1/import", content=exported)
            assert imported.status_code == 200, imported.text
            copy = _snapshot(target)
    finally:
        fresh.stop()
    assert copy == original
