"""The LangGraph store's pure parts: how items become memories and how filters and namespace
conditions match. The store against real servers is tests/e2e/test_langgraph.py."""

from __future__ import annotations

import pytest
from langgraph.store.base import MatchCondition

from continuum.integrations.langgraph import labels, matches, namespace_matches, session_of, text_of


def test_each_namespace_and_key_is_its_own_session():
    first = session_of(("users", "alice"), "profile")
    assert first == session_of(("users", "alice"), "profile") and first.startswith("lg-") and len(first) == 43
    others = {session_of(("users", "alice"), "other"), session_of(("users",), "alice/profile"),
              session_of(("users", "alice", "profile"), ""), session_of(("users/alice",), "profile")}  # fmt: skip
    assert first not in others and len(others) == 4


def test_the_text_ranked_is_the_values_strings_or_its_indexed_fields():
    value = {"title": "Runbook", "body": {"steps": ["drain the node", "upgrade"]}, "n": 3, "blank": "  "}
    assert text_of(value, None) == "Runbook\ndrain the node\nupgrade"
    assert text_of(value, ["body.steps[*]"]) == "drain the node\nupgrade"
    assert text_of({"n": 3, "ok": True}, None) == '{"n": 3, "ok": true}'  # no text: the JSON, never blank
    assert labels(("a", "*", "c")) == {"langgraph_ns_0": "a", "langgraph_ns_2": "c"}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"kind": "report"}, True), ({"kind": "memo"}, False), ({"missing": None}, True),
        ({"n": {"$gt": 2, "$lte": 3}}, True), ({"n": {"$lt": 3}}, False), ({"n": {"$ne": 4}}, True),
        ({"n": {"$gte": "x"}}, False), ({"meta": {"lang": "en"}}, True), ({"meta": {"lang": "fr"}}, False),
        ({"tags": ["a", "b"]}, True), ({"tags": ["a"]}, False), ({"kind": {"$eq": "report"}, "n": 3}, True),
    ],
)  # fmt: skip
def test_filters_match_as_langgraphs_own_stores(conditions, expected):
    value = {"kind": "report", "n": 3, "meta": {"lang": "en", "v": 1}, "tags": ["a", "b"]}
    assert matches(value, conditions) is expected


def test_an_unknown_operator_is_named():
    with pytest.raises(ValueError, match=r"\$regex"):
        matches({"n": 1}, {"n": {"$regex": "1"}})


@pytest.mark.parametrize(
    ("match_type", "path", "namespace", "expected"),
    [
        ("prefix", ("a",), ("a", "b"), True), ("prefix", ("a", "*", "c"), ("a", "x", "c", "d"), True),
        ("prefix", ("b",), ("a", "b"), False), ("prefix", ("a", "b", "c"), ("a", "b"), False),
        ("suffix", ("v1",), ("f", "v1"), True), ("suffix", ("*", "v1"), ("v1",), False),
        ("suffix", ("b", "*"), ("a", "b", "c"), True),
    ],
)  # fmt: skip
def test_namespace_conditions(match_type, path, namespace, expected):
    assert namespace_matches(MatchCondition(match_type, path), namespace) is expected
