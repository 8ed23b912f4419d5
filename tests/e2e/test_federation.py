"""Federation between two real nodes (two `continuum serve` processes on SQLite).

Every byte one node sends the other goes through a capturing TCP forwarder (each node's
peer URL is the forwarder in front of the other): the test reads it all back and finds no
tenant, user, session, instance or memory id, no API key, no memory content, no private
(single-tenant) concept name and no stored time in it. Unsigned, wrongly signed, tampered,
stale and replayed requests are refused; the contribute-to-access ratio is enforced."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from continuum.core.federation import protocol
from continuum.core.federation.identity import NodeIdentity, new_seed, verify
from tests.support.forwarder import CapturingForwarder
from tests.support.servers import RunningServer, SqliteTarget

FEDERATION = {
    "CONTINUUM_ENABLE_FEDERATION": "true",
    "CONTINUUM_FEDERATION_MIN_TENANTS": "2",
    "CONTINUUM_FEDERATION_RATIO": "1",
}
ISO_TIME = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
PUSH, PULL = "/v1/federation/exchange/push", "/v1/federation/exchange/pull"


class Node:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.info = httpx.get(f"{server.url}/v1/federation/node").json()
        self.secrets: list[str] = []  # what must never leave this node
        self.tenant_keys: list[str] = []

    def admin(self) -> httpx.Client:
        return self.server.admin()

    def add_tenant(self, shared: list[str], private: str) -> None:
        tenant_id, client = self.server.new_tenant(f"tenant-{secrets.token_hex(5)}")
        session, instance = f"sess-{secrets.token_hex(5)}", f"agent-{secrets.token_hex(5)}"
        user = f"user-{secrets.token_hex(5)}"
        sentence = f"We run {' and '.join(shared)} for the {private} launch"
        with client:
            learned = client.post(
                "/v1/learn",
                json={"user_message": sentence, "ai_response": f"noted, the {private} plan stays here",
                      "session_id": session, "instance_id": instance, "metadata": {"user_id": user}},
            )  # fmt: skip
            assert learned.status_code == 200, learned.text
            assert client.put("/v1/federation/optin").json() == {"tenant_id": tenant_id, "opted_in": True}
            memories = client.get("/v1/memories").json()["memories"]
            self.tenant_keys.append(client.headers["X-API-Key"])
        self.secrets += [tenant_id, session, instance, user, sentence, private, private.casefold(),
                         client.headers["X-API-Key"], *learned.json()["memory_ids"]]  # fmt: skip
        self.secrets += [m["id"] for m in memories] + [m["created_at"][:19] for m in memories]


@pytest.fixture(scope="module")
def nodes() -> Iterator[tuple[Node, Node, CapturingForwarder, CapturingForwarder]]:
    a_server = SqliteTarget().start(require_api_key=True, extra_env=FEDERATION)
    b_server = SqliteTarget().start(require_api_key=True, extra_env=FEDERATION)
    to_b = CapturingForwarder(b_server.process.port).start()
    to_a = CapturingForwarder(a_server.process.port).start()
    try:
        yield Node(a_server), Node(b_server), to_a, to_b
    finally:
        to_a.stop()
        to_b.stop()
        a_server.stop()
        b_server.stop()


def _register(node: Node, url: str, public_key: str | None) -> dict[str, Any]:
    with node.admin() as admin:
        response = admin.post(
            "/v1/federation/peers", json={"url": url, **({"public_key": public_key} if public_key else {})}
        )
    assert response.status_code == 201, response.text
    return response.json()


def test_two_nodes_exchange_concepts_and_nothing_else_leaves(nodes) -> None:
    a, b, to_a, to_b = nodes
    a.add_tenant(["Kubernetes", "PostgreSQL"], "Zanzibarproject")
    a.add_tenant(["Kubernetes", "PostgreSQL"], "Quokkaplan")
    b.add_tenant(["Terraform", "Grafana"], "Marmotdeal")
    b.add_tenant(["Terraform", "Grafana"], "Ocelotfund")
    peer_b = _register(a, to_b.url, b.info["public_key"])  # a key given by the admin
    peer_a = _register(b, to_a.url, None)  # no key: asked from the peer, through the forwarder
    assert peer_a["public_key"] == a.info["public_key"] and peer_b["peer_id"] == b.info["node_id"]

    with a.admin() as admin:
        report = admin.post(f"/v1/federation/peers/{peer_b['peer_id']}/sync").json()
    assert report["pushed"] == 2 and report["pulled"] == 2 and report["links_pulled"] == 1, report
    with b.admin() as admin:
        report = admin.post(f"/v1/federation/peers/{peer_a['peer_id']}/sync").json()
    assert report["pushed"] == 2 and report["pulled"] == 2, report

    with a.server.client(a.tenant_keys[0]) as client:
        received = client.get("/v1/federation/concepts").json()
    assert sorted(c["name"] for c in received["concepts"]) == ["grafana", "terraform"]
    assert [(lk["a"], lk["b"]) for lk in received["links"]] == [("grafana", "terraform")]
    with b.server.client(b.tenant_keys[0]) as client:
        received = client.get("/v1/federation/concepts").json()
    assert sorted(c["name"] for c in received["concepts"]) == ["kubernetes", "postgresql"]
    with b.admin() as admin:
        peers = {p["peer_id"]: p for p in admin.get("/v1/federation/peers").json()["peers"]}
    assert (peers[peer_a["peer_id"]]["contributed"], peers[peer_a["peer_id"]]["taken"]) == (2, 2)

    wire = to_a.everything() + to_b.everything()
    assert b"kubernetes" in wire and b"terraform" in wire  # the forwarders did see the exchange
    for node in (a, b):
        for secret in filter(None, node.secrets):
            assert secret.encode() not in wire, f"{secret!r} left the node"
            assert secret.casefold().encode() not in wire.lower(), f"{secret!r} left the node"
    for admin_key in (a.server.admin_key, b.server.admin_key):
        assert admin_key is not None and admin_key.encode() not in wire
    assert not ISO_TIME.search(wire), ISO_TIME.search(wire)
    for line in wire.split(b"\r\n"):
        assert not line.lower().startswith((b"x-api-key", b"authorization", b"x-continuum-tenant")), line


def _signed(identity: NodeIdentity, path: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    nonce = secrets.token_hex(16)
    message = protocol.signing_input("POST", path, at, nonce, body, identity.public_key)
    return protocol.Signed(identity.public_key, at, nonce, identity.sign(message)).headers()


def _post(node: Node, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{node.server.url}{path}", content=body, headers={**headers, "content-type": "application/json"})


def test_unsigned_wrongly_signed_stale_and_replayed_requests_are_refused(nodes) -> None:
    _, b, _, _ = nodes
    me = NodeIdentity(new_seed())
    _register(b, "http://127.0.0.1:9", me.public_key)
    body = json.dumps({"concepts": [{"name": "fluxcapacitor", "type": "name"}], "links": []}).encode()

    unsigned = _post(b, PUSH, body, {})
    assert unsigned.status_code == 401 and "unsigned" in unsigned.json()["error"]["message"]
    impostor = NodeIdentity(new_seed())
    forged = _signed(impostor, PUSH, body) | {protocol.NODE_HEADER: me.public_key}
    answer = _post(b, PUSH, body, forged)
    assert answer.status_code == 401 and "bad signature" in answer.json()["error"]["message"]
    unknown = _post(b, PUSH, body, _signed(impostor, PUSH, body))
    assert unknown.status_code == 401 and "unknown node" in unknown.json()["error"]["message"]
    tampered = _post(b, PUSH, body.replace(b"flux", b"fake"), _signed(me, PUSH, body))
    assert tampered.status_code == 401
    other_path = _post(b, PULL, body, _signed(me, PUSH, body))
    assert other_path.status_code == 401
    stale = _post(b, PUSH, body, _signed(me, PUSH, body, at=int(time.time()) - 3600))
    assert stale.status_code == 401 and "CONTINUUM_FEDERATION_MAX_SKEW" in stale.json()["error"]["message"]

    headers = _signed(me, PUSH, body)
    first = _post(b, PUSH, body, headers)
    assert first.status_code == 200, first.text
    # the answer is signed by the node, bound to the request's nonce
    signed = protocol.read_signed(first.headers)
    assert signed.nonce == headers[protocol.NONCE_HEADER] and signed.public_key == b.info["public_key"]
    message = protocol.signing_input(
        "RESPONSE 200", PUSH, signed.timestamp, signed.nonce, first.content, signed.public_key
    )
    assert verify(b.info["public_key"], message, signed.signature)
    replay = _post(b, PUSH, body, headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["error"]["message"]
    with b.server.client(b.tenant_keys[0] if b.tenant_keys else None) as client:  # an API key is no way in
        assert client.post(PUSH, content=body).status_code == 401


def test_the_contribute_to_access_ratio_is_enforced(nodes) -> None:
    a, _, _, _ = nodes
    while len(a.tenant_keys) < 2:  # something to share (k = 2), when this test runs alone
        a.add_tenant(["Kubernetes", "PostgreSQL"], f"Solo{secrets.token_hex(3)}")
    me = NodeIdentity(new_seed())
    _register(a, "http://127.0.0.1:9", me.public_key)
    pull = json.dumps({"limit": 10}).encode()
    refused = _post(a, PULL, pull, _signed(me, PULL, pull))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "federation_ratio"
    assert "ratio 1" in refused.json()["error"]["message"]
    push = json.dumps({"concepts": [{"name": "warpdrive", "type": "name"}], "links": []}).encode()
    assert _post(a, PUSH, push, _signed(me, PUSH, push)).status_code == 200
    assert _post(a, PUSH, push, _signed(me, PUSH, push)).json()["contributed"] == 1  # the same concept: no credit
    granted = _post(a, PULL, pull, _signed(me, PULL, pull))
    assert granted.status_code == 200 and len(granted.json()["concepts"]) == 1  # ratio 1 x 1 concept
    assert _post(a, PULL, pull, _signed(me, PULL, pull)).status_code == 403
    bad = json.dumps({"concepts": [{"name": "x", "type": "name", "tenant_id": "t"}], "links": []}).encode()
    refused = _post(a, PUSH, bad, _signed(me, PUSH, bad))
    assert refused.status_code == 422 and "tenant_id" in refused.json()["error"]["message"]


def test_admin_routes_need_the_admin_key(nodes) -> None:
    a, _, _, _ = nodes
    if not a.tenant_keys:
        a.add_tenant(["Kubernetes"], "Lonelyname")
    with a.server.client(a.tenant_keys[0]) as client:
        assert client.get("/v1/federation/peers").status_code == 403
        assert client.post("/v1/federation/peers", json={"url": "http://x.example"}).status_code == 403
