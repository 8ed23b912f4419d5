"""Embeddings from Workers AI, through the Worker's AI binding (`[ai] binding = "AI"`).

`env.AI.run(model, {"text": [...]})` answers `{"shape": [n, dims], "data": [[...], ...]}`
for the text-embedding models (`@cf/baai/bge-*`). No HTTP client and no API key: the
binding is the credential. Vectors are normalised to unit length here.

Selected with CONTINUUM_ENABLE_EMBEDDINGS=true and CONTINUUM_EMBEDDING_PROVIDER=workers-ai
(CONTINUUM_EMBEDDING_MODEL picks the model). Only a Worker has the binding; there is
no local Workers AI, so the offline harness serves this path with a JS stand-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from continuum.embeddings.errors import EmbeddingUnavailable
from continuum.settings import Settings, SettingsError
from continuum.vectors import normalise

DEFAULT_MODEL = "@cf/baai/bge-small-en-v1.5"
DIMENSIONS = {
    "@cf/baai/bge-small-en-v1.5": 384,
    "@cf/baai/bge-base-en-v1.5": 768,
    "@cf/baai/bge-large-en-v1.5": 1024,
    "@cf/baai/bge-m3": 1024,
}
MAX_PER_REQUEST = 100  # texts per run() of the bge models
MAX_CHARS = 2_000  # about the models' 512-token window; longer texts are cut, not refused


def _to_js(value: dict[str, Any]) -> Any:
    try:
        from js import Object  # type: ignore[import-not-found]
        from pyodide.ffi import to_js  # type: ignore[import-not-found]
    except ImportError:
        return value
    return to_js(value, dict_converter=Object.fromEntries)


def _to_py(value: Any) -> Any:
    return value.to_py() if hasattr(value, "to_py") else value


class WorkersAiEmbedder:
    def __init__(self, binding: Any, model: str | None = None) -> None:
        # The workers SDK may wrap the binding; this class converts arguments itself.
        self.binding = getattr(binding, "_binding", binding)
        self.model = model or DEFAULT_MODEL
        self.name = f"workers-ai/{self.model}"
        self.dimensions = DIMENSIONS.get(self.model, 0)  # else learnt from the first answer

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), MAX_PER_REQUEST):
            vectors += await self._run([t[:MAX_CHARS] for t in texts[start : start + MAX_PER_REQUEST]])
        return vectors

    async def _run(self, texts: list[str]) -> list[list[float]]:
        try:
            answer = _to_py(await self.binding.run(self.model, _to_js({"text": texts})))
        except Exception as exc:  # a rejected JS promise: quota, model error, outage
            raise EmbeddingUnavailable(f"Workers AI {self.model} failed: {exc}") from None
        try:
            vectors = [normalise([float(x) for x in row]) for row in answer["data"]]
        except (KeyError, TypeError, ValueError):
            raise EmbeddingUnavailable(f"Workers AI {self.model} gave no data list of vectors") from None
        if len(vectors) != len(texts) or len({len(v) for v in vectors}) > 1:
            raise EmbeddingUnavailable(
                f"Workers AI {self.model} answered {len(vectors)} vectors for {len(texts)} texts"
            )
        if vectors and not self.dimensions:
            self.dimensions = len(vectors[0])
        return vectors


def from_settings(settings: Settings, *, ai: Any = None, **_bindings: Any) -> WorkersAiEmbedder:
    if ai is None:
        raise SettingsError(
            "CONTINUUM_EMBEDDING_PROVIDER=workers-ai needs the Workers AI binding "
            '(wrangler.toml: [ai] binding = "AI"); it exists only inside a Cloudflare Worker'
        )
    return WorkersAiEmbedder(ai, settings.embedding_model)
