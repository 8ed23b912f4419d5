"""Stored vectors: float32 bytes, and the same cosine with numpy or in pure Python (Pyodide
without numpy, or any runtime where it is missing)."""

from __future__ import annotations

import math
import random

import pytest

from continuum import vectors


def unit(seed: int, size: int = 384) -> list[float]:
    rng = random.Random(seed)
    return vectors.normalise([rng.gauss(0, 1) for _ in range(size)])


def test_pack_is_little_endian_float32_and_round_trips():
    blob = vectors.pack([1.0, -2.5, 0.0])
    assert blob == b"\x00\x00\x80\x3f\x00\x00\x20\xc0\x00\x00\x00\x00"
    assert vectors.unpack(blob) == [1.0, -2.5, 0.0]
    assert vectors.dimensions_of(vectors.pack(unit(1))) == 384


def test_normalise_gives_unit_length_and_survives_zero():
    assert math.isclose(math.sqrt(sum(x * x for x in vectors.normalise([3.0, 4.0]))), 1.0)
    assert vectors.normalise([0.0, 0.0]) == [0.0, 0.0]


@pytest.fixture(params=["numpy", "pure-python"])
def backend(request, monkeypatch):
    if request.param == "pure-python":
        monkeypatch.setattr(vectors, "_np", None)
        monkeypatch.setattr(vectors, "_np_checked", True)
    return request.param


def test_cosine_and_top_k_agree_across_backends(backend):
    query = vectors.pack(unit(0))
    items = [(f"m{i}", vectors.pack(unit(i))) for i in range(20)]
    scores = vectors.cosine_scores(query, [blob for _, blob in items])
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    expected = [sum(a * b for a, b in zip(unit(0), unit(i), strict=True)) for i in range(20)]
    assert scores == pytest.approx(expected, abs=1e-5)
    best = vectors.top_k(query, items, 3)
    assert best[0][0] == "m0" and len(best) == 3
    assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)


def test_a_vector_of_another_size_scores_zero(backend):
    query = vectors.pack(unit(0))
    assert vectors.cosine_scores(query, [vectors.pack(unit(1, size=8)), query]) == pytest.approx([0.0, 1.0])
    assert vectors.cosine_scores(query, []) == []


def test_ties_break_by_key(backend):
    blob = vectors.pack(unit(5))
    assert [k for k, _ in vectors.top_k(blob, [("b", blob), ("a", blob), ("c", blob)], 2)] == ["a", "b"]
