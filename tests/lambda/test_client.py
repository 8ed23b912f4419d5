"""The Python SDK against the Lambda functions: each request the SDK sends becomes the API
Gateway (HTTP API v2) event the service would deliver, handled in-process by the function
that serves its route (as in test_handlers.py), on real PostgreSQL with idempotency records
in DynamoDB (moto_server). Retries, idempotent writes, pages and errors as on a server."""

from __future__ import annotations

import importlib
import json
import secrets

import httpx
import pytest

from continuum.client import AuthenticationError, Continuum, InvalidRequestError, NotFoundError

from .support import LambdaContext, event

# The function serving each path, as serverless.yml routes them.
FUNCTIONS = {"health": "health", "learn": "learn", "recall": "recall", "turn": "turn", "memories": "memories",
             "search": "search", "entities": "entities", "stats": "entities", "keys": "admin", "tenants": "admin",
             "import": "admin", "export": "admin"}  # fmt: skip


class ApiGateway(httpx.BaseTransport):
    """httpx requests in, API Gateway v2 events through the serving function, answers out.
    `lose`: how many successful answers to drop on their way back (a broken connection)."""

    def __init__(self, lose: int = 0) -> None:
        self.lose = lose
        self.invocations: list[tuple[str, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        function = FUNCTIONS[path.split("/")[2]]
        handler = importlib.import_module(f"functions.{function}").handler
        body = request.read()
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        sent = event("v2", request.method, path, headers=headers, query=dict(request.url.params) or None,
                     raw_body=body or None)  # fmt: skip
        result = handler(sent, LambdaContext(f"continuum-test-{function}"))
        self.invocations.append((function, request.method, request.headers.get("idempotency-key")))
        status = result["statusCode"]
        if self.lose and 200 <= status < 300:
            self.lose -= 1
            raise httpx.ReadError("connection reset (test: the answer is lost)", request=request)
        payload = result.get("body") or ""
        return httpx.Response(status, headers=result.get("headers") or {}, content=payload.encode(), request=request)


@pytest.fixture
def key(deployment) -> str:
    with Continuum("https://api.example.test", deployment.admin_key, transport=ApiGateway()) as admin:
        return admin.create_key(tenant_id=f"t-{secrets.token_hex(5)}").api_key


def test_the_sdk_through_every_function(deployment, key):
    gateway = ApiGateway()
    with Continuum("https://api.example.test", key, transport=gateway) as client:
        learned = client.learn(user_message="Orion runs on Lambda with PostgreSQL", ai_response="Noted, Orion.")
        assert "Orion" in client.recall(message="Where does Orion run?").context
        assert client.turn(user_message="Still Lambda?", ai_response="Yes.").learn.memory_ids
        batch = client.create_memories(memories=[{"content": f"page note {n}", "session_id": "p",
                                                  "metadata": {"n": n}} for n in range(5)])  # fmt: skip
        assert [m.metadata["n"] for m in client.list_memories(session_id="p", page_size=2)] == [4, 3, 2, 1, 0]
        assert [m.id for m in client.list_memories(metadata={"n": 2})] == [batch.results[2].id]
        assert client.search(query="page note", filters={"session_id": "p"}).results
        memory = client.update_memory(batch.results[0].id, content="page note zero")
        assert memory.content == "page note zero"
        client.delete_memory(memory.id)
        with pytest.raises(NotFoundError) as caught:
            client.get_memory(memory.id)
        assert caught.value.code == "not_found" and caught.value.request_id
        with pytest.raises(InvalidRequestError) as caught:
            client.create_memory(content=" ")
        assert caught.value.details[0]["field"] == "content"
        stats = client.stats()
        assert stats.memories == 2 + 2 + 4 and set(learned.memory_ids) <= {m.id for m in client.list_memories()}
    assert {function for function, _, _ in gateway.invocations} >= {"learn", "recall", "turn", "memories", "search",
                                                                     "entities"}  # fmt: skip
    with Continuum("https://api.example.test", "ck_wrong", transport=ApiGateway()) as stranger, \
            pytest.raises(AuthenticationError) as caught:  # fmt: skip
        stranger.stats()
    assert caught.value.status == 401


def test_a_write_whose_answer_is_lost_is_stored_once(deployment, key):
    gateway = ApiGateway(lose=2)
    with Continuum("https://api.example.test", key, transport=gateway) as client:
        learned = client.learn(user_message="Dana sends the Q3 report on Friday", ai_response="Friday, Q3: noted.")
        keys = [k for function, _, k in gateway.invocations if function == "learn"]
        assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]  # one Idempotency-Key, three attempts
        stats = client.stats()
        assert (stats.messages, stats.memories) == (1, 2)
        assert json.dumps(sorted(m.id for m in client.list_memories())) == json.dumps(sorted(learned.memory_ids))
