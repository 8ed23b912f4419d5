"""Vectors as they are stored: little-endian float32 bytes, unit length.

numpy does the arithmetic where it is importable (CPython, Pyodide); a pure-Python
path gives the same results elsewhere, only slower. numpy is imported on first use,
so nothing here costs import time unless embeddings are on.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

_np: Any = None
_np_checked = False


def _numpy() -> Any:
    global _np, _np_checked
    if not _np_checked:
        _np_checked = True
        try:
            import numpy

            _np = numpy
        except ImportError:  # pragma: no cover - exercised where numpy is absent
            _np = None
    return _np


def normalise(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(float(x) * float(x) for x in vector))
    if norm == 0.0 or not math.isfinite(norm):
        return [0.0] * len(vector)
    return [float(x) / norm for x in vector]


def pack(vector: Sequence[float]) -> bytes:
    """float32, little-endian, whatever the host order."""
    data = struct.pack(f"<{len(vector)}f", *vector)
    return data


def unpack(blob: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def dimensions_of(blob: bytes) -> int:
    return len(blob) // 4


def cosine_scores(query: bytes, blobs: Sequence[bytes]) -> list[float]:
    """Dot products of a unit query with unit vectors (cosine similarity).

    Vectors of another dimension (a model change) score 0.0 rather than failing.
    """
    if not blobs:
        return []
    np = _numpy()
    size = len(query)
    if np is not None:
        same = [b if len(b) == size else bytes(size) for b in blobs]
        matrix = np.frombuffer(b"".join(same), dtype="<f4").reshape(len(same), size // 4)
        q = np.frombuffer(query, dtype="<f4")
        return [float(x) for x in matrix @ q]
    q_list = unpack(query)
    scores = []
    for blob in blobs:
        if len(blob) != size:
            scores.append(0.0)
            continue
        scores.append(sum(a * b for a, b in zip(q_list, unpack(blob), strict=True)))
    return scores


def top_k(query: bytes, items: Sequence[tuple[str, bytes]], k: int) -> list[tuple[str, float]]:
    """The k best (key, cosine) pairs, best first; ties by key for determinism."""
    scores = cosine_scores(query, [blob for _, blob in items])
    ranked = sorted(zip((key for key, _ in items), scores, strict=True), key=lambda p: (-p[1], p[0]))
    return ranked[:k]


__all__ = ["cosine_scores", "dimensions_of", "normalise", "pack", "top_k", "unpack"]
