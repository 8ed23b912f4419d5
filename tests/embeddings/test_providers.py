"""The embedding providers with the real local model and a real HTTP endpoint."""

from __future__ import annotations

import asyncio
import math

import pytest

from continuum.embeddings import openai as openai_module
from continuum.embeddings.errors import EmbeddingUnavailable
from continuum.embeddings.factory import build_embedder
from continuum.embeddings.local import LocalEmbedder
from continuum.embeddings.openai import OpenAIEmbedder, endpoint
from continuum.settings import load_settings

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_local_model_gives_unit_vectors_that_capture_meaning(local_embedder: LocalEmbedder):
    vectors = await local_embedder.embed(
        ["The kitten is asleep on the sofa.", "A young cat naps on the couch.", "Quarterly tax filing deadline."]
    )
    assert local_embedder.dimensions == 384 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-4) for v in vectors)
    assert cosine(vectors[0], vectors[1]) > 0.5 > cosine(vectors[0], vectors[2])
    assert await local_embedder.embed([]) == []
    again = await local_embedder.embed(["The kitten is asleep on the sofa."])
    assert cosine(again[0], vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert local_embedder.name == "local/all-MiniLM-L6-v2"


async def test_local_inference_does_not_block_the_event_loop(local_embedder: LocalEmbedder):
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    await local_embedder.embed([f"sentence number {i} about something" for i in range(256)])
    task.cancel()
    assert ticks > 5  # the loop kept running while the model worked in a thread


async def test_openai_compatible_endpoint_matches_the_local_model(embedding_endpoint, local_embedder, monkeypatch):
    monkeypatch.setattr(openai_module, "MAX_PER_REQUEST", 2)
    embedding_endpoint.mode, embedding_endpoint.requests[:] = "ok", []
    embedder = OpenAIEmbedder(embedding_endpoint.url, api_key=embedding_endpoint.api_key, model="mini")
    texts = ["first text", "second text", "third text"]
    try:
        remote = await embedder.embed(texts)
    finally:
        await embedder.close()
    local = await local_embedder.embed(texts)
    assert [cosine(a, b) for a, b in zip(remote, local, strict=True)] == pytest.approx([1.0] * 3, abs=1e-4)
    assert [r["input"] for r in embedding_endpoint.requests] == [texts[:2], texts[2:]]  # batched, in order
    assert all(r["model"] == "mini" for r in embedding_endpoint.requests)
    assert embedder.dimensions == 384 and embedder.name == "openai/mini"


@pytest.mark.parametrize(
    ("mode", "key", "message"),
    [("ok", "wrong-key", "HTTP 401"), ("fail", None, "HTTP 500"), ("garbage", None, "no data")],
)
async def test_openai_endpoint_failures_are_clear_and_never_leak_the_key(embedding_endpoint, mode, key, message):
    embedding_endpoint.mode = mode
    secret = key or embedding_endpoint.api_key
    embedder = OpenAIEmbedder(embedding_endpoint.url, api_key=secret)
    try:
        with pytest.raises(EmbeddingUnavailable, match=message) as failure:
            await embedder.embed(["hello"])
        assert secret not in str(failure.value)
    finally:
        embedding_endpoint.mode = "ok"
        await embedder.close()


async def test_unreachable_endpoint_is_embedding_unavailable():
    from tests.support.servers import free_port

    embedder = OpenAIEmbedder(f"http://127.0.0.1:{free_port()}/v1", timeout=2)
    with pytest.raises(EmbeddingUnavailable, match="unreachable"):
        await embedder.embed(["hello"])
    await embedder.close()


def test_endpoint_url_forms():
    assert endpoint("https://api.example.com/v1") == "https://api.example.com/v1/embeddings"
    assert endpoint("https://api.example.com/v1/") == "https://api.example.com/v1/embeddings"
    assert endpoint("http://h:1/v1/embeddings") == "http://h:1/v1/embeddings"


def test_factory_selects_the_provider_from_settings():
    assert build_embedder(load_settings({}, read_files=False)) is None
    off = load_settings({"CONTINUUM_EMBEDDING_PROVIDER": "local"}, read_files=False)
    assert build_embedder(off) is None  # chosen but not enabled
    local = build_embedder(load_settings(
        {"CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "local"}, read_files=False
    ))  # fmt: skip
    assert isinstance(local, LocalEmbedder)
    remote = build_embedder(load_settings({
        "CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "openai",
        "CONTINUUM_EMBEDDING_URL": "http://127.0.0.1:9/v1", "CONTINUUM_EMBEDDING_MODEL": "m",
        "CONTINUUM_EMBEDDING_API_KEY": "k" * 20,
    }, read_files=False))  # fmt: skip
    assert isinstance(remote, OpenAIEmbedder) and remote.name == "openai/m"
