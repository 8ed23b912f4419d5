"""The ranking pieces: BM25, scaling, fusion, conversation-context smoothing, time awareness."""

from __future__ import annotations

import math

import pytest

from continuum.core.ranking import asks_for_time, bm25, fuse, idf, mentions_time, scaled, smooth
from continuum.models import LexicalStats


def test_scaled_puts_the_best_at_one_and_clips_below_the_floor():
    assert scaled({"a": 2.0, "b": 1.0, "c": 0.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    values = scaled({"a": 0.6, "b": 0.35, "c": 0.05}, floor=0.1)
    assert values["a"] == pytest.approx(1.0) and values["b"] == pytest.approx(0.5) and values["c"] == 0.0
    assert scaled({"a": 0.05}, floor=0.1) == {"a": 0.0}
    assert scaled({}) == {}


def test_fuse_is_a_weighted_sum_where_missing_counts_zero():
    fused = fuse([({"a": 1.0, "b": 0.5}, 1.0), ({"b": 1.0, "c": 0.4}, 0.5)], ["a", "b", "c"])
    assert fused == pytest.approx({"a": 1.0, "b": 1.0, "c": 0.2})


def test_smoothing_lifts_the_turn_next_to_a_match():
    base = {"question": 1.0, "answer": 0.0, "far": 0.1}
    neighbours = {"answer": ["question"], "question": ["answer"]}
    out = smooth(base, neighbours, 0.7)
    assert out["answer"] == pytest.approx(0.7)
    assert out["question"] == pytest.approx(1.0)  # its neighbour adds nothing
    assert out["far"] == pytest.approx(0.1)  # no neighbours known: unchanged
    assert smooth(base, neighbours, 0.0) == base


def test_smoothing_takes_the_best_neighbour_not_the_sum():
    base = {"mid": 0.0, "left": 0.4, "right": 0.6}
    out = smooth(base, {"mid": ["left", "right"]}, 0.5)
    assert out["mid"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("When did Caroline go to the support group?", True),
        ("What year did they move?", True),
        ("How long has she had her friends?", True),
        ("how many years ago was the wedding", True),
        ("What did Caroline research?", False),
        ("Where did Melanie camp?", False),
    ],
)
def test_time_questions_are_recognised(query, expected):
    assert asks_for_time(query) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went to a support group yesterday", True),
        ("We moved here 4 years ago", True),
        ("Last weekend we went camping", True),
        ("Back in 2019 I ran a marathon", True),
        ("Caroline (1:56 pm on 8 May, 2023): I love painting", False),  # a timestamp is not an event time
        ("The transgender stories were inspiring", False),
    ],
)
def test_texts_that_place_events_in_time(text, expected):
    assert mentions_time(text) is expected


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


def test_explain_splits_a_score_into_weighted_parts_that_add_up():
    from continuum.core.ranking import Scored, explain
    from continuum.core.ranking_config import RankingConfig

    config = RankingConfig(lexical_weight=1.0, dense_weight=0.8, context_weight=0.7, recency_weight=0.02)
    # as retrieval builds it: fused = lexical + dense + context; time multiplies it; recency adds
    fused = 1.0 * 0.6 + 0.8 * 0.5 + 0.21
    item = Scored(memory=None, score=fused * 1.2 + 0.02 * 0.9, lexical=0.6, graph=0.25, dense=0.5,  # type: ignore[arg-type]
                  semantic=0.42, context=0.21, temporal=0.2, recency=0.9)  # fmt: skip
    explained = explain(item, config)
    parts = explained.parts
    assert sum(vars(parts).values()) == pytest.approx(item.score, abs=1e-5)
    assert parts.lexical == pytest.approx(0.35) and parts.graph == pytest.approx(0.25)
    assert parts.dense == pytest.approx(0.4) and parts.context == pytest.approx(0.21)
    assert parts.time == pytest.approx(0.2 * fused) and parts.recency == pytest.approx(0.018)
    signals = explained.signals
    assert (signals.lexical, signals.graph, signals.dense) == pytest.approx((0.35, 0.25, 0.5))
    assert signals.context == pytest.approx(0.3) and signals.time == 1.0 and signals.recency == 0.9
    assert explained.cosine == pytest.approx(0.42)


def test_explain_with_context_off_reports_no_context_signal():
    from continuum.core.ranking import Scored, explain
    from continuum.core.ranking_config import RankingConfig

    item = Scored(memory=None, score=1.0, lexical=1.0)  # type: ignore[arg-type]
    explained = explain(item, RankingConfig(context=False, recency=False))
    assert explained.parts.context == 0.0 and explained.signals.context == 0.0
    assert explained.parts.lexical == 1.0 and explained.signals.time == 0.0
