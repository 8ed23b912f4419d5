import math

import pytest

from continuum.core.ranking import bm25, idf
from continuum.models import LexicalStats


def test_bm25_matches_the_formula():
    stats = LexicalStats(doc_count=10, term_total=40, document_frequency={"cat": 2, "dog": 5})
    doc = ["cat", "cat", "bird", "fish"]
    score = bm25({"cat": 1.0, "dog": 1.0}, [doc], stats)[0]
    k1, b, avg = 1.2, 0.75, 4.0
    expected = math.log(1 + (10 - 2 + 0.5) / (2 + 0.5)) * 2 * (k1 + 1) / (2 + k1 * (1 - b + b * len(doc) / avg))
    assert score == pytest.approx(expected)


def test_rare_terms_weigh_more():
    assert idf(1000, 1) > idf(1000, 100) > idf(1000, 900) > 0


def test_shorter_documents_win_at_equal_counts():
    stats = LexicalStats(doc_count=100, term_total=1000, document_frequency={"tea": 3})
    short, long = bm25({"tea": 1.0}, [["tea", "x"], ["tea"] + ["x"] * 30], stats)
    assert short > long


def test_query_weights_scale_contributions():
    stats = LexicalStats(doc_count=100, term_total=1000, document_frequency={"tea": 3})
    full, half = bm25({"tea": 1.0}, [["tea"]], stats)[0], bm25({"tea": 0.5}, [["tea"]], stats)[0]
    assert half == pytest.approx(full / 2)
