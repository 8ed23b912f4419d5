"""The Worker's wiring under CPython: env to settings, the isolate's app over a D1 stand-in,
misconfiguration, the cron handler, per-isolate metrics and the Workers AI embedder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from continuum.embeddings.errors import EmbeddingUnavailable
from continuum.embeddings.factory import build_embedder
from continuum.embeddings.workers_ai import MAX_PER_REQUEST, WorkersAiEmbedder
from continuum.models import MemoryRecord
from continuum.settings import SettingsError, load_settings
from continuum.storage.d1 import D1Storage
from continuum.workers import app as worker
from continuum.workers.env import binding, settings_from_env, text_vars
from continuum.workers.metrics import IsolateMetrics
from tests.support.d1_standin import D1Database

ADMIN = "admin-" + "k" * 20


@pytest.fixture
async def d1():
    db = D1Database()
    await D1Storage(db).migrate()  # what `wrangler d1 migrations apply` does before deploy
    yield db
    db.close()


@pytest.fixture(autouse=True)
def fresh_isolate():
    worker.reset()
    yield
    worker.reset()


def client_for(asgi) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://worker")


# ---- env -> settings ------------------------------------------------------------------


class JsLikeEnv:
    """An env as attributes (how a JS object looks from Python), with a binding among vars."""

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)


def test_vars_and_secrets_become_settings_bindings_are_left_alone():
    env = {"CONTINUUM_API_KEY": ADMIN, "CONTINUUM_CACHE_TTL": "60", "DB": object(), "SOME_OTHER_VAR": "x"}
    settings = settings_from_env(env)
    assert settings.storage_backend == "d1"  # the Worker default
    assert settings.api_key == ADMIN and settings.cache_ttl == 60
    assert text_vars(JsLikeEnv(A="1", DB=object())) == {"A": "1"}
    assert binding(env, "DB") is env["DB"] and binding(env, "AI") is None


@pytest.mark.parametrize(
    "env,message",
    [
        ({"CONTINUUM_CACHE_TLL": "60"}, "unknown setting CONTINUUM_CACHE_TLL"),
        ({"CONTINUUM_CACHE_TTL": "soon"}, "CONTINUUM_CACHE_TTL"),
        ({"POSTGRES_URL": "postgresql://h/db"}, "POSTGRES_URL"),
        ({"REDIS_URL": "redis://h:6379"}, "UPSTASH_REDIS_REST_URL"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_env(env)


# ---- the isolate's app ---------------------------------------------------------------


async def test_the_app_serves_over_d1_and_is_built_once(d1):
    env = {"DB": d1, "CONTINUUM_API_KEY": ADMIN, "CONTINUUM_REQUIRE_API_KEY": "true"}
    app = worker.worker_app(env)
    assert isinstance(app, worker.WorkerApp)
    assert worker.worker_app(env) is app
    async with client_for(worker.asgi_app(env)) as client:
        assert (await client.get("/v1/health", headers={"X-API-Key": ADMIN})).json()["checks"]["database"] == "ok"
        created = await client.post("/v1/keys", json={"tenant_id": "acme"}, headers={"X-API-Key": ADMIN})
        key = {"X-API-Key": created.json()["api_key"]}
        learned = await client.post(
            "/v1/learn", headers=key,
            json={"user_message": "We deploy Orion on Cloudflare Workers.", "ai_response": "Orion at the edge."},
        )  # fmt: skip
        assert learned.status_code == 200, learned.text
        recalled = await client.post("/v1/recall", json={"message": "Where does Orion run?"}, headers=key)
        assert recalled.json()["memories"], recalled.text
        assert (await client.get("/v1/stats")).status_code == 401
        metrics = await client.get("/metrics", headers={"X-API-Key": ADMIN})
    names = {family.name for family in text_string_to_metric_families(metrics.text)}
    assert {"continuum_requests", "continuum_request_duration_seconds", "continuum_memories_stored"} <= names
    assert 'endpoint="/v1/learn"' in metrics.text


async def test_bad_settings_answer_500_with_one_line_and_no_secret(d1):
    env = {"DB": d1, "CONTINUUM_API_KEY": "short", "CONTINUUM_JWT_SECRET": "s" * 40}
    async with client_for(worker.asgi_app(env)) as client:
        response = await client.get("/v1/health")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "misconfigured" and "CONTINUUM_API_KEY" in error["message"]
    assert "short" not in response.text and "s" * 40 not in response.text


async def test_d1_storage_needs_the_binding():
    async with client_for(worker.asgi_app({"CONTINUUM_API_KEY": ADMIN})) as client:
        response = await client.get("/v1/health")
    assert response.status_code == 500 and "D1 binding named DB" in response.json()["error"]["message"]


async def test_cron_handler_removes_expired_memories(d1):
    env = {"DB": d1, "CONTINUUM_API_KEY": ADMIN}
    storage = D1Storage(d1)
    past = datetime.now(UTC) - timedelta(minutes=1)
    memory = MemoryRecord(
        id="01M0000000000000000000000B", tenant_id="t", content="old", content_hash="h", search_terms="old",
        role="user", instance_id=None, session_id=None, metadata={}, created_at=past - timedelta(hours=1),
        updated_at=past, expires_at=past,
    )  # fmt: skip
    await storage.insert_memories("t", [memory], past - timedelta(hours=1))
    assert await worker.run_scheduled(env, "*/15 * * * *") == 1
    assert await worker.run_scheduled(env, "*/15 * * * *") == 0
    assert (await storage.counts("t")).memories == 0


# ---- metrics ---------------------------------------------------------------------------


def test_isolate_metrics_render_valid_prometheus_text():
    metrics = IsolateMetrics()
    metrics.request("GET", '/v1/odd"path', 200, 0.004)
    metrics.memories_stored(3)
    metrics.cache_hit()
    metrics.recall_latency(0.02)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    requests = families["continuum_requests"].samples
    assert requests[0].labels == {"method": "GET", "endpoint": '/v1/odd"path', "status": "200"}
    assert families["continuum_memories_stored"].samples[0].value == 3
    buckets = [s for s in families["continuum_request_duration_seconds"].samples if s.name.endswith("_bucket")]
    assert [s.value for s in buckets if s.labels["le"] in ("0.0025", "0.005", "+Inf")] == [0, 1, 1]


# ---- Workers AI ------------------------------------------------------------------------


class FakeAi:
    """The AI binding's contract: run(model, {"text": [...]}) -> {"shape", "data"}."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    async def run(self, model, inputs):
        if self.fail:
            raise RuntimeError("AiError: 3040: capacity temporarily exceeded")
        self.calls.append((model, inputs["text"]))
        return {"shape": [len(inputs["text"]), 3], "data": [[3.0, 4.0, float(len(t))] for t in inputs["text"]]}


async def test_workers_ai_embeds_in_batches_as_unit_vectors():
    ai = FakeAi()
    embedder = WorkersAiEmbedder(ai)
    texts = [f"text {i}" for i in range(MAX_PER_REQUEST + 5)]
    vectors = await embedder.embed(texts)
    assert len(vectors) == len(texts)
    assert [len(call[1]) for call in ai.calls] == [MAX_PER_REQUEST, 5]
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-9 for v in vectors)
    assert embedder.name == "workers-ai/@cf/baai/bge-small-en-v1.5" and embedder.dimensions == 384


async def test_workers_ai_failures_are_embedding_unavailable():
    with pytest.raises(EmbeddingUnavailable, match="capacity"):
        await WorkersAiEmbedder(FakeAi(fail=True)).embed(["x"])


def test_workers_ai_is_selected_by_settings_and_needs_the_binding():
    settings = load_settings(
        environ={"CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "workers-ai",
                 "CONTINUUM_EMBEDDING_MODEL": "@cf/baai/bge-base-en-v1.5"},
        read_files=False,
    )  # fmt: skip
    embedder = build_embedder(settings, ai=FakeAi())
    assert isinstance(embedder, WorkersAiEmbedder) and embedder.dimensions == 768
    with pytest.raises(SettingsError, match=r"\[ai\] binding"):
        build_embedder(settings)



async def test_the_worker_embeds_through_its_ai_binding(d1):
    ai = FakeAi()
    env = {"DB": d1, "AI": ai, "CONTINUUM_API_KEY": ADMIN, "CONTINUUM_ENABLE_EMBEDDINGS": "true",
           "CONTINUUM_EMBEDDING_PROVIDER": "workers-ai", "CONTINUUM_EMBEDDING_WRITE": "inline"}  # fmt: skip
    app = worker.worker_app(env)
    assert isinstance(app, worker.WorkerApp)
    assert isinstance(app.services.engine.retriever.embedder, WorkersAiEmbedder)
    async with client_for(app.asgi) as client:
        assert (await client.post("/v1/memories", json={"content": "edge memory"})).status_code == 201
        found = await client.post("/v1/search", json={"query": "edge", "mode": "semantic"})
    assert found.status_code == 200, found.text
    assert ai.calls, "the Workers AI binding was never called"


def test_encryption_needs_a_cryptography_build(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cryptography" else real(name, *a)
    )
    with pytest.raises(SettingsError, match="CONTINUUM_ENCRYPTION_KEY needs the cryptography package"):
        settings_from_env({"CONTINUUM_ENCRYPTION_KEY": "a" * 64})


async def test_a_failing_start_answers_500_without_details(d1, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret-looking detail")

    monkeypatch.setattr(worker, "assemble", broken)
    async with client_for(worker.asgi_app({"DB": d1})) as client:
        response = await client.get("/v1/health")
    assert response.status_code == 500 and "secret-looking" not in response.text
