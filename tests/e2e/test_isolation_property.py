"""Tenant isolation as a property: random interleavings of every operation by two tenants
on a real server (caches on) never let one tenant's response contain, count or reveal
the other's data.

Each tenant writes a marker word of its own into contents, metadata, session ids and
queries. After every request the response (body and headers) must hold no other tenant's
marker word, tenant id or memory id; lists, exports and counts must match the tenant's
own model exactly; and a read repeated without a write of the reader's own must answer
the same, so nothing the other tenant does can move it (stats, entities, search scores,
recall). Both tenants also share plain contents, queries, session ids and Idempotency-Keys,
where a shared cache, dedup index or idempotency record would leak first.

Seeded (derandomized) and bounded: EXAMPLES programs of STEPS steps per backend. Set
CONTINUUM_ISOLATION_SHRINK=1 to shrink a failing program to its shortest form.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from continuum.ids import new_id
from tests.support.servers import TARGETS, RunningServer, selected_targets
from tests.support.tenant_model import (
    Markers,
    Memo,
    Observations,
    TenantModel,
    export_lines,
    new_tag,
    new_tenant_id,
    without,
)

pytestmark = pytest.mark.slow

EXAMPLES, STEPS = 20, 15
BACKENDS = ("sqlite", "postgres")  # `continuum serve` on SQLite (L1 cache), on PostgreSQL + Redis (L1 + L2)
WORDS = ("Nightingale", "Falcon", "gardening", "launch", "Friday", "budget")
SHARED = ("a shared note about Nightingale and gardening", "the Falcon budget is due Friday", "plain shared words")
SHARED_SESSION = "shared-session"
KEYS = ("idem-1", "idem-2", "idem-3")  # Idempotency-Keys both tenants use

who = st.sampled_from("AB")
words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
shared = st.none() | st.sampled_from(SHARED)
session = st.sampled_from(["own", "shared", "none"])
idempotency_key = st.none() | st.sampled_from(KEYS)
pick = st.integers(min_value=0, max_value=10_000)


def _backends() -> list[str]:
    chosen = selected_targets()
    return [name for name in BACKENDS if name in chosen]


@pytest.fixture(params=_backends())
def secured_server(request: pytest.FixtureRequest, _servers: dict) -> RunningServer:
    """The e2e session's secured server of this backend (started once, shared with the suite)."""
    key = (request.param, True)
    if key not in _servers:
        _servers[key] = TARGETS[request.param]().start(require_api_key=True)
    return _servers[key]


class TwoTenants(RuleBasedStateMachine):
    server: RunningServer
    markers: Markers
    observations: Observations

    def __init__(self) -> None:
        super().__init__()
        self.limits = itertools.cycle(range(80, 101))
        self.tenants = {label: self._tenant(label) for label in "AB"}

    def _tenant(self, label: str) -> TenantModel:
        tenant_id = new_tenant_id()
        model = TenantModel(label, tenant_id, new_tag(), self._client(tenant_id))
        self.markers.add(model)
        return model

    def _client(self, tenant_id: str) -> httpx.Client:
        with self.server.admin() as admin:
            created = admin.post("/v1/keys", json={"tenant_id": tenant_id})
        assert created.status_code == 201, created.text
        return self.server.client(created.json()["api_key"])

    def teardown(self) -> None:
        for tenant in self.tenants.values():
            tenant.client.close()

    # ---- requests --------------------------------------------------------------------

    def _content(self, tenant: TenantModel, text: str) -> str:
        return f"{tenant.tag} note {tenant.next_number()} about {text}"

    def _session(self, tenant: TenantModel, choice: str) -> str | None:
        return {"own": tenant.session, "shared": SHARED_SESSION, "none": None}[choice]

    def _take(self, tenant: TenantModel, memory_id: str, content: str | None, session_id: str | None) -> None:
        """A write answered with this id: a new memory, or the tenant's own duplicate."""
        if memory_id in tenant.memories:
            held = tenant.memories[memory_id]
            assert held.session == session_id and held.content in (None, content), (memory_id, held, content)
        else:
            assert memory_id not in self.markers.foreign_ids(tenant), f"{tenant.label} got a foreign id {memory_id}"
            tenant.hold(memory_id, Memo(content, session_id))

    def _assert_known(self, tenant: TenantModel, items: list[dict[str, Any]], what: str) -> None:
        for item in items:
            held = tenant.memories.get(item["id"])
            assert held is not None, f"{tenant.label} {what} returned {item['id']}, which it does not hold"
            assert held.content in (None, item["content"]), (what, item, held)

    # ---- writes ----------------------------------------------------------------------

    @rule(label=who, text=words, plain=shared, where=session, key=idempotency_key)
    def store_memory(self, label: str, text: str, plain: str | None, where: str, key: str | None) -> None:
        tenant = self.tenants[label]
        content = plain or self._content(tenant, text)
        session_id = SHARED_SESSION if plain and where == "own" else self._session(tenant, where)
        metadata = {} if plain else {"owner": tenant.tag, "n": tenant.counter}
        payload = {"content": content, "session_id": session_id, "metadata": metadata}
        response = self.markers.write(tenant, "/v1/memories", payload, key)
        if response is not None:
            body = response.json()
            assert body["status"] == ("stored" if response.status_code == 201 else "duplicate"), body
            if body["status"] == "duplicate":
                assert body["id"] in tenant.memories, f"{label}: duplicate of {body['id']}, not its own"
            self._take(tenant, body["id"], content, session_id)

    @rule(label=who, items=st.lists(st.tuples(words, shared), min_size=1, max_size=4), key=idempotency_key)
    def store_batch(self, label: str, items: list[tuple[str, str | None]], key: str | None) -> None:
        tenant = self.tenants[label]
        memories = [
            {"content": plain, "session_id": SHARED_SESSION} if plain
            else {"content": self._content(tenant, text), "session_id": tenant.session, "metadata": {"o": tenant.tag}}
            for text, plain in items
        ]  # fmt: skip
        response = self.markers.write(tenant, "/v1/memories/batch", {"memories": memories}, key)
        if response is not None:
            results = response.json()["results"]
            assert len(results) == len(memories)
            for sent, result in zip(memories, results, strict=True):
                self._take(tenant, result["id"], sent["content"], sent["session_id"])

    @rule(label=who, text=words, plain=st.booleans(), where=session, key=idempotency_key)
    def learn(self, label: str, text: str, plain: bool, where: str, key: str | None) -> None:
        tenant = self.tenants[label]
        said = f"We talked about {text}" if plain else f"{tenant.tag} talked about {text}"
        payload = {"user_message": said, "ai_response": f"Noted: {text}.", "session_id": self._session(tenant, where)}
        response = self.markers.write(tenant, "/v1/learn", payload, key)
        if response is not None:
            tenant.messages += 1
            for memory_id in response.json()["memory_ids"]:
                self._take(tenant, memory_id, None, payload["session_id"])

    @rule(label=who, text=words, key=idempotency_key)
    def turn(self, label: str, text: str, key: str | None) -> None:
        tenant = self.tenants[label]
        payload = {"user_message": f"What about {tenant.tag} and {text}?", "ai_response": f"{text}, as agreed."}
        response = self.markers.write(tenant, "/v1/turn", payload, key)
        if response is not None:
            tenant.messages += 1
            body = response.json()
            for memory_id in body["learn"]["memory_ids"]:
                self._take(tenant, memory_id, None, None)
            self._assert_known(tenant, body["recall"]["memories"], "turn's recall")

    @rule(label=who)
    def retry_keyed_write(self, label: str) -> None:
        tenant = self.tenants[label]
        if tenant.last_keyed is not None:
            write = tenant.last_keyed
            assert self.markers.write(tenant, write.path, json.loads(write.body), write.key) is None

    @rule(label=who, whose=who, index=pick)
    def patch_memory(self, label: str, whose: str, index: int) -> None:
        tenant, owner = self.tenants[label], self.tenants[whose]
        if not owner.ever:
            return
        memory_id = sorted(owner.ever)[index % len(owner.ever)]
        content = self._content(tenant, "an edit")
        response = self.markers.call(tenant, "PATCH", f"/v1/memories/{memory_id}", "PATCH", json={"content": content})
        if memory_id in tenant.memories:
            assert response.status_code == 200, response.text
            assert response.json()["content"] == content
            tenant.memories[memory_id].content = content
            tenant.changed()
        else:
            assert response.status_code == 404, response.text

    @rule(label=who, whose=who, index=pick)
    def delete_memory(self, label: str, whose: str, index: int) -> None:
        tenant, owner = self.tenants[label], self.tenants[whose]
        if not owner.ever:
            return
        memory_id = sorted(owner.ever)[index % len(owner.ever)]
        response = self.markers.call(tenant, "DELETE", f"/v1/memories/{memory_id}", "DELETE")
        if memory_id in tenant.memories:
            assert response.status_code == 204, response.text
            del tenant.memories[memory_id]
            tenant.changed()
        else:
            assert response.status_code == 404, response.text

    @rule(label=who, fresh=st.integers(0, 2), collide=st.booleans(), message=st.booleans())
    def import_lines(self, label: str, fresh: int, collide: bool, message: bool) -> None:
        """Lines of the tenant's own; `collide` reuses a memory id the other tenant holds."""
        tenant, other = self.tenants[label], self.tenants["B" if label == "A" else "A"]
        ids = [new_id() for _ in range(fresh)]
        taken = sorted(set(other.memories) - tenant.ever)
        if collide and taken:
            ids.append(taken[0])
        stamp = "2026-01-02T03:04:05Z"
        lines = [
            {"type": "memory", "id": memory_id, "content": self._content(tenant, "an import"), "role": "user",
             "instance_id": None, "session_id": tenant.session, "metadata": {"o": tenant.tag},
             "created_at": stamp, "updated_at": stamp, "expires_at": None}
            for memory_id in ids
        ]  # fmt: skip
        if message:
            lines.append({"type": "message", "id": new_id(), "instance_id": None, "session_id": tenant.session,
                          "user_message": f"{tenant.tag} imported", "ai_response": "ok", "thinking": None,
                          "metadata": {}, "created_at": stamp})  # fmt: skip
        if not lines:
            return
        body = "\n".join(json.dumps(line) for line in lines).encode()
        response = self.markers.call(tenant, "POST", "/v1/import", "import", content=body,
                              headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["imported"].get("memory", 0) == len(ids), result
        assert result["skipped"].get("memory", 0) == 0, result
        assert result["imported"].get("message", 0) == int(message), result
        for line in lines[: len(ids)]:
            tenant.hold(line["id"], Memo(line["content"], tenant.session))
        tenant.messages += int(message)
        tenant.changed()

    @rule(label=who)
    def erase(self, label: str) -> None:
        tenant = self.tenants[label]
        before = tenant.client.get("/v1/stats").json()
        with self.server.admin() as admin:
            response = admin.delete(f"/v1/tenants/{tenant.tenant_id}")
        assert response.status_code == 200, response.text
        self.markers.assert_own(tenant, response, "erase")
        erased = response.json()["erased"]
        counted = {name: erased.get(name) for name in ("memories", "messages", "entities", "decisions")}
        assert counted == {name: before[name] for name in counted}, (erased, before)
        assert tenant.client.get("/v1/stats").status_code == 401, "the erased tenant's key still works"
        tenant.client.close()
        tenant.reset(self._client(tenant.tenant_id))

    # ---- reads -----------------------------------------------------------------------
    # Recall and search ask with a limit above any tenant's size that changes from call to
    # call: a repeated read misses the result cache, is computed afresh and must still match.

    def _query(self, tenant: TenantModel, choice: int) -> str:
        other = self.tenants["B" if tenant.label == "A" else "A"]
        return ["Nightingale Falcon", SHARED[0], "launch Friday budget", f"{tenant.tag} note",
                f"{other.tag} note"][choice]  # fmt: skip

    @rule(label=who, choice=st.integers(0, 4))
    def recall(self, label: str, choice: int) -> None:
        tenant = self.tenants[label]
        query = self._query(tenant, choice)
        request = {"message": query, "limit": next(self.limits)}
        response = self.markers.call(tenant, "POST", "/v1/recall", "recall", json=request)
        assert response.status_code == 200, response.text
        body = response.json()
        self._assert_known(tenant, body["memories"], "recall")
        self.observations.check(tenant, f"recall {choice}", without(body, "query_time_ms"))

    @rule(label=who, choice=st.integers(0, 4), mode=st.sampled_from(["hybrid", "lexical"]), where=session)
    def search(self, label: str, choice: int, mode: str, where: str) -> None:
        tenant = self.tenants[label]
        session_id = self._session(tenant, where)
        request = {"query": self._query(tenant, choice), "mode": mode, "limit": next(self.limits),
                   "filters": {"session_id": session_id} if session_id else {}}  # fmt: skip
        response = self.markers.call(tenant, "POST", "/v1/search", "search", json=request)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        self._assert_known(tenant, results, "search")
        assert all(r["session_id"] == session_id for r in results if session_id), results
        self.observations.check(tenant, f"search {choice} {mode} {where}", results)

    @rule(label=who, where=session)
    def list_memories(self, label: str, where: str) -> None:
        tenant = self.tenants[label]
        session_id = self._session(tenant, where)
        params = {"limit": 1000, **({"session_id": session_id} if session_id else {})}
        response = self.markers.call(tenant, "GET", "/v1/memories", "list", params=params)
        assert response.status_code == 200, response.text
        listed = {m["id"]: m for m in response.json()["memories"]}
        expected = {i for i, m in tenant.memories.items() if session_id is None or m.session == session_id}
        assert set(listed) == expected, set(listed) ^ expected
        self._assert_known(tenant, list(listed.values()), "list")

    @rule(label=who, whose=who, index=pick)
    def get_memory(self, label: str, whose: str, index: int) -> None:
        tenant, owner = self.tenants[label], self.tenants[whose]
        if not owner.ever:
            return
        memory_id = sorted(owner.ever)[index % len(owner.ever)]
        response = self.markers.call(tenant, "GET", f"/v1/memories/{memory_id}", "get")
        if memory_id in tenant.memories:
            assert response.status_code == 200, response.text
            self._assert_known(tenant, [response.json()], "get")
        else:
            assert response.status_code == 404, response.text

    @rule(label=who)
    def entities(self, label: str) -> None:
        tenant = self.tenants[label]
        response = self.markers.call(tenant, "GET", "/v1/entities", "entities", params={"limit": 1000})
        assert response.status_code == 200, response.text
        listed = response.json()["entities"]
        assert len(listed) == tenant.client.get("/v1/stats").json()["entities"]
        self.observations.check(tenant, "entities", listed)

    @rule(label=who, whose=who)
    def entity(self, label: str, whose: str) -> None:
        tenant, owner = self.tenants[label], self.tenants[whose]
        for name in (owner.tag, "Nightingale"):
            response = self.markers.call(tenant, "GET", f"/v1/entities/{name}", "entity")
            assert response.status_code in (200, 404), response.text
            if owner is not tenant and name == owner.tag:
                assert response.status_code == 404, response.text
            self.observations.check(tenant, f"entity {name}", response.json())

    @rule(label=who, jwt=st.booleans())
    def list_naming_the_other_tenant(self, label: str, jwt: bool) -> None:
        """X-Continuum-Tenant naming the other tenant, with the tenant's key or a JWT of its
        own: the answer is still the caller's own data."""
        tenant, other = self.tenants[label], self.tenants["B" if label == "A" else "A"]
        headers = {"X-Continuum-Tenant": other.tenant_id}
        if jwt:
            assert self.server.jwt_secret is not None
            claims = {"tenant_id": tenant.tenant_id, "exp": int(time.time()) + 600}
            headers["Authorization"] = "Bearer " + pyjwt.encode(claims, self.server.jwt_secret, algorithm="HS256")
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=60) as client:
            if not jwt:
                client.headers["X-API-Key"] = tenant.client.headers["X-API-Key"]
            response = client.get("/v1/memories", params={"limit": 1000})
        assert response.status_code == 200, response.text
        self.markers.assert_own(tenant, response, "list naming the other tenant")
        assert {m["id"] for m in response.json()["memories"]} == set(tenant.memories)

    @rule(label=who)
    def export(self, label: str) -> None:
        tenant = self.tenants[label]
        lines = export_lines(self.markers.call(tenant, "GET", "/v1/export", "export"))
        memories = {line["id"]: line for line in lines if line["type"] == "memory"}
        assert set(memories) == set(tenant.memories), set(memories) ^ set(tenant.memories)
        self._assert_known(tenant, list(memories.values()), "export")
        assert sum(line["type"] == "message" for line in lines) == tenant.messages
        self.observations.check(tenant, "export", lines[1:])

    @invariant()
    def counts_and_rankings_are_each_tenants_own(self) -> None:
        """After every step, both tenants: counts match the model and, unless the tenant
        itself wrote, neither the counts nor a search over every shared word moved."""
        for tenant in self.tenants.values():
            response = self.markers.call(tenant, "GET", "/v1/stats", "stats")
            assert response.status_code == 200, response.text
            stats = response.json()
            assert (stats["memories"], stats["messages"]) == (len(tenant.memories), tenant.messages), stats
            self.observations.check(tenant, "stats", stats)
            probe = {"query": " ".join(WORDS), "mode": "lexical", "limit": next(self.limits)}
            response = self.markers.call(tenant, "POST", "/v1/search", "probe search", json=probe)
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            self._assert_known(tenant, results, "probe search")
            self.observations.check(tenant, "probe search", results)


def test_no_response_of_one_tenant_reveals_another(secured_server: RunningServer) -> None:
    TwoTenants.server = secured_server
    TwoTenants.markers = Markers()
    TwoTenants.observations = Observations()
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("CONTINUUM_ISOLATION_SHRINK") else [])
    started = time.monotonic()
    run_state_machine_as_test(
        TwoTenants,
        settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, database=None, deadline=None,
            phases=phases, suppress_health_check=list(HealthCheck), print_blob=False,
        ),
    )  # fmt: skip
    tenants = len(TwoTenants.markers.tenants)
    print(f"{secured_server.target}: {tenants} tenants, {time.monotonic() - started:.1f}s")
