"""Key controls over real HTTP on every target: scopes (a `read` key changes nothing, on any
route that changes state), revocation and expiry refused at once, listings without secrets,
rotation with several live keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.key_routes import request_for, state_changing_routes
from tests.support.servers import continuum_serve

# Targets whose server can run a second instance on the same database and shared cache.
TWINNABLE = {"postgres", "postgres-upstash"}

LISTED_FIELDS = {
    "id", "tenant_id", "name", "prefix", "scopes", "status", "created_at", "expires_at", "revoked_at", "last_used_at",
}  # fmt: skip


def create_key(server: Any, tenant_id: str, **fields: Any) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.post("/v1/keys", json={"tenant_id": tenant_id, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def export_of(server: Any, tenant_id: str) -> bytes:
    with server.admin() as admin:
        response = admin.get("/v1/export", headers={"X-Continuum-Tenant": tenant_id})
    assert response.status_code == 200, response.text
    return response.content


def rows_of(export: bytes) -> list[bytes]:
    """An export's data lines (the header carries the time of export)."""
    return [line for line in export.splitlines() if b'"type": "header"' not in line and b'"type":"header"' not in line]


def keys_of(server: Any, tenant_id: str) -> list[dict[str, Any]]:
    with server.admin() as admin:
        response = admin.get("/v1/keys", params={"tenant_id": tenant_id})
    assert response.status_code == 200, response.text
    return response.json()["keys"]


def test_a_read_key_reads_everything_and_changes_nothing(server, tenant):
    tenant_id, writer = tenant
    stored = writer.post("/v1/memories", json={"content": "Orion launch is on Friday"})
    assert stored.status_code == 201, stored.text
    memory_id = stored.json()["id"]
    learned = writer.post("/v1/learn", json={"user_message": "Vega owns Orion", "ai_response": "Noted."})
    assert learned.status_code == 200, learned.text
    reader_key = create_key(server, tenant_id, scopes=["read"], name="dashboard")
    assert reader_key["scopes"] == ["read"]
    writer_key_id = keys_of(server, tenant_id)[0]["id"]

    with server.client(reader_key["api_key"]) as reader:
        for method, path, body in (
            ("POST", "/v1/recall", {"message": "Orion"}),
            ("POST", "/v1/search", {"query": "Orion"}),
            ("GET", "/v1/memories", None),
            ("GET", f"/v1/memories/{memory_id}", None),
            ("GET", "/v1/entities", None),
            ("GET", "/v1/stats", None),
            ("GET", "/v1/export", None),
            ("GET", "/v1/keys", None),
        ):
            response = reader.request(method, path, json=body)
            assert response.status_code == 200, (method, path, response.text)
        before = export_of(server, tenant_id)
        keys_before = keys_of(server, tenant_id)
        routes = state_changing_routes()
        assert len(routes) >= 10
        for route in routes:
            response = reader.request(**request_for(route, tenant_id, memory_id, writer_key_id, before))
            assert response.status_code == 403, (route, response.status_code, response.text)
            error = response.json()["error"]
            assert error["code"] == "forbidden" and error["message"], route
    assert rows_of(export_of(server, tenant_id)) == rows_of(before)
    assert [k | {"last_used_at": None} for k in keys_of(server, tenant_id)] == [
        k | {"last_used_at": None} for k in keys_before
    ]
    assert writer.get(f"/v1/memories/{memory_id}").json()["content"] == "Orion launch is on Friday"


def test_a_revoked_key_is_refused_at_once(server, tenant):
    tenant_id, _ = tenant
    doomed = create_key(server, tenant_id, name="doomed")
    with server.client(doomed["api_key"]) as client:
        assert client.get("/v1/stats").status_code == 200  # its lookup is now cached
        with server.admin() as admin:
            revoked = admin.delete(f"/v1/keys/{doomed['id']}", params={"tenant_id": tenant_id})
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
            again = admin.delete(f"/v1/keys/{doomed['id']}", params={"tenant_id": tenant_id})
            assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
            assert admin.delete(f"/v1/keys/{doomed['id']}", params={"tenant_id": "t-elsewhere"}).status_code == 404
            assert admin.delete("/v1/keys/NOSUCHKEY", params={"tenant_id": tenant_id}).status_code == 404
        refused = client.get("/v1/stats")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert client.post("/v1/memories", json={"content": "after revocation"}).status_code == 401


def test_an_expired_key_is_refused(server, tenant):
    tenant_id, _ = tenant
    with server.admin() as admin:
        past = admin.post("/v1/keys", json={"tenant_id": tenant_id, "expires_at": "2020-01-01T00:00:00Z"})
        assert past.status_code == 422 and "expires_at" in past.json()["error"]["message"]
    expires = datetime.now(UTC) + timedelta(seconds=3)
    brief = create_key(server, tenant_id, expires_at=expires.isoformat())
    with server.client(brief["api_key"]) as client:
        assert client.get("/v1/stats").status_code == 200
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
        refused = client.get("/v1/stats")
        assert refused.status_code == 401 and "expired" in refused.json()["error"]["message"]
    assert [k["status"] for k in keys_of(server, tenant_id) if k["id"] == brief["id"]] == ["expired"]


def test_listings_show_no_secret_and_only_the_callers_tenant(server, tenant):
    tenant_id, client = tenant
    extra = create_key(server, tenant_id, name="ci", scopes=["write"])
    other_id, other = server.new_tenant()
    with other:
        mine = client.get("/v1/keys")
        assert mine.status_code == 200, mine.text
        assert mine.json()["tenant_id"] == tenant_id
        listed = mine.json()["keys"]
        assert len(listed) == 2 and {k["tenant_id"] for k in listed} == {tenant_id}
        assert all(set(k) == LISTED_FIELDS for k in listed)
        assert extra["api_key"] not in mine.text and extra["api_key"][10:] not in mine.text
        assert extra["prefix"] == extra["api_key"][:10]
        assert [k["name"] for k in listed] == [None, "ci"]  # oldest first
        refused = client.get("/v1/keys", params={"tenant_id": other_id})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        theirs = other.get("/v1/keys").json()["keys"]
        assert len(theirs) == 1 and not {k["id"] for k in theirs} & {k["id"] for k in listed}
        assert keys_of(server, tenant_id) == client.get("/v1/keys").json()["keys"]
        with server.admin() as admin:
            by_header = admin.get("/v1/keys", headers={"X-Continuum-Tenant": other_id}).json()
        assert by_header["tenant_id"] == other_id and [k["id"] for k in by_header["keys"]] == [k["id"] for k in theirs]


def test_two_live_keys_rotate_without_downtime(server, tenant):
    tenant_id, old = tenant
    new = create_key(server, tenant_id, name="next")
    with server.client(new["api_key"]) as client:
        assert client.post("/v1/memories", json={"content": "written with the new key"}).status_code == 201
        assert old.get("/v1/stats").json()["memories"] == 1
        old_id = next(k["id"] for k in keys_of(server, tenant_id) if k["id"] != new["id"])
        with server.admin() as admin:
            assert admin.delete(f"/v1/keys/{old_id}", params={"tenant_id": tenant_id}).status_code == 200
        assert old.get("/v1/stats").status_code == 401
        assert client.get("/v1/stats").json()["memories"] == 1
    listed = {k["id"]: k for k in keys_of(server, tenant_id)}
    assert listed[old_id]["status"] == "revoked" and listed[new["id"]]["status"] == "active"
    assert listed[new["id"]]["last_used_at"] is not None  # used above; stamped at most once a minute


def test_the_admin_key_is_needed_to_create_or_revoke(server, tenant):
    tenant_id, client = tenant
    own_id = client.get("/v1/keys").json()["keys"][0]["id"]
    for response in (
        client.post("/v1/keys", json={"tenant_id": tenant_id}),
        client.delete(f"/v1/keys/{own_id}"),
    ):
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    with server.admin() as admin:
        assert admin.post("/v1/keys", json={"tenant_id": tenant_id, "scopes": ["admin"]}).status_code == 422
    assert client.get("/v1/stats").status_code == 200


def test_a_read_key_gets_no_replay_of_a_write(server, tenant, target_name):
    tenant_id, writer = tenant
    body, retry = {"content": "stored once with a write key"}, {"Idempotency-Key": f"k-{tenant_id}"}
    first = writer.post("/v1/memories", json=body, headers=retry)
    assert first.status_code in (201, 422), first.text  # 422: this target has no shared idempotency store
    reader = create_key(server, tenant_id, scopes=["read"])
    with server.client(reader["api_key"]) as client:
        replayed = client.post("/v1/memories", json=body, headers=retry)
    assert replayed.status_code == 403 and replayed.json()["error"]["code"] == "forbidden"
    assert "idempotent-replayed" not in replayed.headers


# Two server processes on one database and one shared cache: the PostgreSQL targets' shape
# (the SQLite target serves one process, a Worker target its isolates).
@pytest.mark.targets(*TWINNABLE)
def test_revocation_reaches_another_instance_sharing_the_cache_at_once(server, tenant, target_name):
    tenant_id, _ = tenant
    twin = continuum_serve(server.process.env, server.process.cwd)  # same database, same Redis/Upstash
    twin.start()
    try:
        key = create_key(server, tenant_id, name="on two instances")
        with (
            server.client(key["api_key"]) as here,
            httpx.Client(base_url=twin.url, headers={"X-API-Key": key["api_key"]}, timeout=60) as there,
        ):
            for _ in range(2):  # the second answer comes from each instance's cached lookup
                assert here.get("/v1/stats").status_code == 200 and there.get("/v1/stats").status_code == 200
            with server.admin() as admin:
                assert admin.delete(f"/v1/keys/{key['id']}", params={"tenant_id": tenant_id}).status_code == 200
            refused = there.get("/v1/stats")
            assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    finally:
        twin.stop()
