"""Idempotency-Key over real HTTP on every target: a retried write returns the first
result and stores nothing twice; where no store is shared by the instances, the key is
refused loudly (422) instead of being silently ignored."""

from __future__ import annotations

import secrets

# Targets whose instances share no store (a Worker without Upstash): keys are refused.
WITHOUT_SHARED_STORE = {"workers"}


def test_retried_writes_are_stored_once(tenant, target_name):
    _, client = tenant
    key = secrets.token_hex(8)
    body = {"content": "paid invoice 4411 on Friday", "session_id": "billing"}
    first = client.post("/v1/memories", json=body, headers={"Idempotency-Key": key})
    if target_name in WITHOUT_SHARED_STORE:
        assert first.status_code == 422
        assert first.json()["error"]["code"] == "idempotency_unsupported"
        assert "UPSTASH" in first.json()["error"]["message"]
        assert client.get("/v1/stats").json()["memories"] == 0
        return
    assert first.status_code == 201, first.text
    again = client.post("/v1/memories", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other_body = client.post("/v1/memories", json={"content": "something else"}, headers={"Idempotency-Key": key})
    assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"

    turn = {"user_message": "Send the Q3 report to Dana", "ai_response": "Will do, Dana gets Q3."}
    learned = client.post("/v1/learn", json=turn, headers={"Idempotency-Key": key + "-learn"})
    replayed = client.post("/v1/learn", json=turn, headers={"Idempotency-Key": key + "-learn"})
    assert learned.status_code == replayed.status_code == 200
    assert replayed.json() == learned.json()
    stats = client.get("/v1/stats").json()
    assert stats["memories"] == 3 and stats["messages"] == 1
    bad = client.post("/v1/memories", json=body, headers={"Idempotency-Key": "x" * 300})
    assert bad.status_code == 422


def test_keys_are_scoped_per_tenant(server, target_name):
    key = secrets.token_hex(8)
    _, a = server.new_tenant()
    _, b = server.new_tenant()
    with a, b:
        first = a.post("/v1/memories", json={"content": "tenant a's note"}, headers={"Idempotency-Key": key})
        second = b.post("/v1/memories", json={"content": "tenant b's note"}, headers={"Idempotency-Key": key})
        if target_name in WITHOUT_SHARED_STORE:  # unsupported there: refused for every tenant alike
            for refused, client in ((first, a), (second, b)):
                assert refused.status_code == 422, refused.text
                assert refused.json()["error"]["code"] == "idempotency_unsupported"
                assert client.get("/v1/stats").json()["memories"] == 0
            return
        assert first.status_code == second.status_code == 201
        assert second.json()["id"] != first.json()["id"]
        assert b.get(f"/v1/memories/{first.json()['id']}").status_code == 404
