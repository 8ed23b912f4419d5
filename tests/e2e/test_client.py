"""The Python SDK (`continuum.client`), sync and async, against every e2e target over real HTTP.

A lost answer is made by the client's own transport: the request reaches the real server,
which stores and answers; the answer is then dropped as a broken connection would drop
it, so the SDK retries with the same Idempotency-Key and the server replays its answer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from continuum.client import (
    AsyncContinuum,
    AuthenticationError,
    ConnectionError,
    Continuum,
    InvalidRequestError,
    NotFoundError,
)
from continuum.schemas import LearnResponse, Memory
from tests.support.servers import REPO, clean_env

DOC = REPO / "docs" / "integrations.md"

# Targets whose instances share no idempotency store (a Worker without Upstash).
WITHOUT_SHARED_STORE = {"workers"}


class LoseFirstAnswers(httpx.HTTPTransport):
    """Sends every request for real; the first `count` successful answers to `path` (the
    write happened) never arrive."""

    def __init__(self, path: str, count: int = 1) -> None:
        super().__init__()
        self.path, self.count, self.sent = path, count, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path != self.path:
            return response
        self.sent.append(request.headers.get("idempotency-key"))
        response.read()
        if self.count > 0 and response.is_success:
            self.count -= 1
            raise httpx.ReadError("connection reset by peer (test: the answer is lost)", request=request)
        return response


def _key(tenant) -> str:
    return tenant[1].headers["X-API-Key"]


def test_a_retried_write_is_stored_once(server, tenant, target_name):
    lossy = LoseFirstAnswers("/v1/learn", count=2)
    turn = {"user_message": "Ship the Orion release on Thursday", "ai_response": "Orion ships Thursday."}
    with Continuum(server.url, _key(tenant), transport=lossy) as client:
        if target_name in WITHOUT_SHARED_STORE:
            # No idempotency records there: the SDK sends plainly and never repeats a write
            # that may have arrived, so the lost answer is an error and the turn stored once.
            with pytest.raises(ConnectionError):
                client.learn(**turn)
            assert client.stats().messages == 1
            return
        learned = client.learn(**turn)
        assert isinstance(learned, LearnResponse) and len(learned.memory_ids) == 2
        assert len(lossy.sent) == 3 and len(set(lossy.sent)) == 1 and lossy.sent[0]  # one key, three attempts
        stats = client.stats()
        assert (stats.messages, stats.memories) == (1, 2)
        assert {m.id for m in client.list_memories()} == set(learned.memory_ids)


def test_every_operation_typed(server, tenant):
    tenant_id, _ = tenant
    with Continuum(server.url, _key(tenant)) as client:
        assert client.health().status in ("ok", "degraded")
        learned = client.learn(user_message="We host Vega on Fly.io in Frankfurt", ai_response="Noted: Vega, Fly.io.",
                               session_id="s1", metadata={"source": "chat"})  # fmt: skip
        assert learned.tenant_id == tenant_id and learned.concepts_extracted > 0
        recalled = client.recall(message="Where is Vega hosted?", limit=5)
        assert "Vega" in recalled.context and recalled.memories[0].session_id == "s1"
        turned = client.turn(user_message="Is Vega still on Fly.io?", ai_response="Yes, Frankfurt.")
        assert turned.recall.memories and len(turned.learn.memory_ids) == 2
        stored = client.create_memory(content="Vega's database is PostgreSQL 16", role="assistant",
                                      instance_id="agent-1", metadata={"topic": "db", "n": 1})  # fmt: skip
        assert stored.status == "stored"
        assert client.create_memory(content="Vega's database is PostgreSQL 16", role="assistant",
                                    instance_id="agent-1").status == "duplicate"  # fmt: skip
        found = client.search(query="PostgreSQL database", filters={"instance_id": "agent-1"}, mode="lexical")
        assert [r.id for r in found.results] == [stored.id]
        memory = client.get_memory(stored.id)
        assert isinstance(memory, Memory) and memory.metadata == {"topic": "db", "n": 1}
        updated = client.update_memory(stored.id, content="Vega's database is PostgreSQL 17", metadata={"topic": "db"})
        assert updated.content.endswith("17") and updated.metadata == {"topic": "db"} and updated.expires_at is None
        batch = client.create_memories(memories=[{"content": "first of two"}, {"content": "second of two"}])
        assert [r.status for r in batch.results] == ["stored", "stored"]
        assert client.entities(limit=100).entities and client.entity("Vega").name.lower() == "vega"
        client.delete_memory(stored.id)
        with pytest.raises(NotFoundError):
            client.get_memory(stored.id)
        assert client.stats().memories == 6  # two turns (2 each), the batch (2); the stored one deleted


def test_cursor_iteration_over_several_pages_and_metadata_filter(server, tenant):
    with Continuum(server.url, _key(tenant)) as client:
        created = client.create_memories(memories=[
            {"content": f"note number {n}", "session_id": "paged", "metadata": {"n": n, "even": n % 2 == 0}}
            for n in range(7)
        ])  # fmt: skip
        ids = [r.id for r in created.results]
        listed = list(client.list_memories(session_id="paged", page_size=3))
        assert [m.id for m in listed] == ids[::-1]  # newest first, across three pages, nothing twice
        first = client.list_memories_page(session_id="paged", limit=3)
        assert len(first.memories) == 3 and first.next_cursor is not None
        assert [m.id for m in client.list_memories(session_id="paged", page_size=2, limit=5)] == ids[::-1][:5]
        evens = list(client.list_memories(metadata={"even": True}, page_size=2))
        assert sorted(m.metadata["n"] for m in evens) == [0, 2, 4, 6]
        assert [m.metadata for m in client.list_memories(metadata={"n": 3, "even": False})] == [{"n": 3, "even": False}]
        assert list(client.list_memories(metadata={"n": "3"})) == []  # JSON types respected: "3" is not 3
    # The SDK always sends an object; what another client may send instead is refused by name.
    for bad, problem in (("[1]", "not an array"), ("{nope", "must be a JSON object"), ('{"": 1}', "empty")):
        refused = tenant[1].get("/v1/memories", params={"metadata": bad})
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_input" and error["message"].startswith("query.metadata: ")
        assert problem in error["message"]


def test_errors_carry_status_code_and_message(server, tenant):
    with Continuum(server.url, _key(tenant)) as client:
        with pytest.raises(NotFoundError) as caught:
            client.get_memory("01JAAAAAAAAAAAAAAAAAAAAAAA")
        assert (caught.value.status, caught.value.code) == (404, "not_found") and caught.value.request_id
        with pytest.raises(InvalidRequestError) as caught:
            client.create_memory(content="   ")
        assert caught.value.status == 422 and caught.value.code == "invalid_input"
        assert caught.value.details[0]["field"] == "content"
        with pytest.raises(InvalidRequestError) as caught:
            client.recall(message="x", limit=1000)
        assert "limit" in caught.value.message
    with Continuum(server.url, "ck_not_a_real_key") as stranger, pytest.raises(AuthenticationError) as caught:
        stranger.stats()
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    with Continuum(server.url, server.admin_key) as admin:
        reader = admin.create_key(tenant_id=tenant[0], scopes=["read"])
    with Continuum(server.url, reader.api_key) as read_only:
        assert read_only.stats().tenant_id == tenant[0]
        with pytest.raises(AuthenticationError) as caught:
            read_only.create_memory(content="a read key tries to write")
        assert (caught.value.status, caught.value.code) == (403, "forbidden")


def test_tenant_isolation_through_the_sdk(server):
    (a_id, a_http), (b_id, b_http) = server.new_tenant(), server.new_tenant()
    with a_http, b_http, Continuum(server.url, a_http.headers["X-API-Key"]) as a, \
            Continuum(server.url, b_http.headers["X-API-Key"]) as b:  # fmt: skip
        secret = a.create_memory(content="Project Nightingale launches on the ninth of March",
                                 session_id="shared", metadata={"team": "x"})  # fmt: skip
        a.learn(user_message="Nightingale rides on the Falcon rocket", ai_response="Noted.")
        b.create_memory(content="an unrelated note about gardening", session_id="shared", metadata={"team": "x"})
        for attempt in (lambda: b.get_memory(secret.id), lambda: b.update_memory(secret.id, content="stolen"),
                        lambda: b.delete_memory(secret.id)):  # fmt: skip
            with pytest.raises(NotFoundError):
                attempt()
        assert [m.content for m in b.list_memories(session_id="shared")] == ["an unrelated note about gardening"]
        assert [m.content for m in b.list_memories(metadata={"team": "x"})] == ["an unrelated note about gardening"]
        assert b.search(query="Nightingale Falcon March", mode="lexical").results == []
        assert "Nightingale" not in b.recall(message="When does Nightingale launch?").context
        assert (b.stats().tenant_id, b.stats().memories, b.stats().messages) == (b_id, 1, 0)
        assert a.get_memory(secret.id).content.startswith("Project Nightingale") and a.stats().tenant_id == a_id


async def test_the_async_client(server, tenant, target_name):
    async with AsyncContinuum(server.url, _key(tenant)) as client:
        learned = await client.learn(user_message="Dana owns the Q3 report", ai_response="Dana, Q3: noted.")
        recalled = await client.recall(message="Who owns the Q3 report?")
        assert "Dana" in recalled.context and {m.id for m in recalled.memories} <= set(learned.memory_ids)
        await client.create_memories(memories=[{"content": f"async note {n}", "session_id": "a"} for n in range(5)])
        listed = [m.content async for m in client.list_memories(session_id="a", page_size=2)]
        assert listed == [f"async note {n}" for n in range(4, -1, -1)]
        found = await client.search(query="async note", filters={"session_id": "a"}, limit=10)
        assert len(found.results) == 5
        with pytest.raises(NotFoundError) as caught:
            await client.delete_memory("01JAAAAAAAAAAAAAAAAAAAAAAA")
        assert caught.value.code == "not_found"
        assert (await client.stats()).memories == 7


def documented_examples(section: str, doc: Path = DOC) -> list[str]:
    """The ```python blocks of one `## section` of docs/integrations.md."""
    text = doc.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start : end if end != -1 else None], re.S)


def run_example(code: str, server, key: str) -> str:
    env = clean_env({"CONTINUUM_URL": server.url, "CONTINUUM_API_KEY": key,
                     "PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])})  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_documented_examples_run(server, tenant):
    sync_example, async_example = documented_examples("Python SDK")
    out = run_example(sync_example, server, _key(tenant))
    assert "Fly.io" in out and "PostgreSQL 17" in out and "404 not_found" in out
    assert "Remind me where Orion runs" in run_example(async_example, server, _key(tenant))
