"""api/routers/mem0_filters.py: mem0's filter language on memories in mem0's shape, every
operator, nesting, the wildcard, metadata, malformed filters and the storage-side narrowing."""

from __future__ import annotations

from typing import Any

import pytest

from continuum.api.routers.mem0_filters import FilterError, entity_scope, matches, validate

ALICE = {
    "id": "m1", "memory": "Alice loves Hiking", "user_id": "alice", "agent_id": "planner", "app_id": None,
    "run_id": "r1", "created_at": "2024-03-01T10:00:00.000000Z", "updated_at": "2024-03-02T10:00:00Z",
    "categories": ["travel", "sport"], "metadata": {"rating": 5, "tags": ["x", "Y"], "flag": True, "city": "Bern"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, True),
        ({"user_id": "alice"}, True),
        ({"user_id": "bob"}, False),
        ({"user_id": "*"}, True),
        ({"app_id": "*"}, False),
        ({"user_id": {"eq": "alice"}}, True),
        ({"user_id": {"ne": "alice"}}, False),
        ({"app_id": {"ne": "kitchen"}}, True),
        ({"agent_id": {"in": ["x", "planner"]}}, True),
        ({"agent_id": {"in": ["x"]}}, False),
        ({"app_id": {"in": [None]}}, False),
        ({"created_at": {"gte": "2024-03-01"}}, True),
        ({"created_at": {"gt": "2024-03-01T10:00:00Z"}}, False),
        ({"created_at": {"lt": 1709280000}}, False),
        ({"created_at": {"lt": 1709290000}}, True),
        ({"created_at": {"lte": "2024-03-01T10:00:00+00:00"}}, True),
        ({"created_at": {"gte": "2024-01-01", "lt": "2024-04-01"}}, True),
        ({"updated_at": {"gt": "2024-03-01T23:59:59"}}, True),
        ({"memory": {"contains": "Hiking"}}, True),
        ({"memory": {"contains": "hiking"}}, False),
        ({"memory": {"icontains": "HIKING"}}, True),
        ({"categories": {"contains": "travel"}}, True),
        ({"categories": {"icontains": "SPORT"}}, True),
        ({"categories": {"contains": "food"}}, False),
        ({"metadata": {"rating": 5}}, True),
        ({"metadata": {"rating": {"gte": 5, "lt": 6}}}, True),
        ({"metadata": {"rating": {"gt": 5}}}, False),
        ({"metadata": {"rating": "5"}}, False),  # types are respected
        ({"metadata": {"flag": 1}}, False),  # true is not 1
        ({"metadata": {"flag": True}}, True),
        ({"metadata": {"rating": {"gt": "4"}}}, False),  # no order between a number and a string
        ({"metadata": {"tags": {"contains": "x"}}}, True),
        ({"metadata": {"tags": {"icontains": "y"}}}, True),
        ({"metadata": {"missing": "*"}}, False),
        ({"metadata": {"missing": {"ne": 1}}}, True),
        ({"city": "Bern"}, True),  # other names are metadata keys
        ({"city": {"icontains": "BE"}}, True),
        ({"AND": [{"user_id": "alice"}, {"run_id": "r1"}]}, True),
        ({"AND": [{"user_id": "alice"}, {"run_id": "r2"}]}, False),
        ({"OR": [{"user_id": "bob"}, {"run_id": "r1"}]}, True),
        ({"OR": [{"user_id": "bob"}, {"run_id": "r2"}]}, False),
        ({"OR": []}, False),
        ({"AND": []}, True),
        ({"NOT": [{"user_id": "bob"}]}, True),
        ({"NOT": {"user_id": "alice"}}, False),
        ({"NOT": [{"user_id": "bob"}, {"run_id": "r1"}]}, False),  # none may hold
        (
            {"user_id": "alice", "NOT": [{"OR": [{"agent_id": "x"}, {"AND": [{"run_id": "r1"}, {"app_id": "*"}]}]}]},
            True,
        ),
        (
            {"OR": [
                {"AND": [{"user_id": "alice"}, {"metadata": {"rating": {"lt": 3}}}]},
                {"memory": {"icontains": "alps"}},
            ]},
            False,
        ),
    ],
)
def test_every_operator_and_nesting(filters: dict[str, Any], expected: bool) -> None:
    validate(filters)
    assert matches(ALICE, filters) is expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([], "filters: must be an object"),
        ({"user_id": {"like": "a"}}, "filters.user_id: unknown operator 'like'"),
        ({"user_id": {}}, "filters.user_id: an empty operator object"),
        ({"user_id": ["a"]}, "a list needs an operator"),
        ({"agent_id": {"in": "planner"}}, "filters.agent_id.in: 'in' takes a list"),
        ({"OR": {"user_id": "a"}}, "filters.OR: must be a list"),
        ({"AND": ["x"]}, "filters.AND[0]: must be an object"),
        ({"created_at": {"gt": "yesterday"}}, "is not an ISO 8601"),
        ({"created_at": {"gt": True}}, "expected a date"),
        ({"created_at": {"in": [1e300]}}, "out of range"),
        ({"metadata": "x"}, "filters.metadata: must be an object"),
        ({"OR": [{"user_id": "b"}, {"NOT": [{"x": {"bad": 1}}]}]}, "filters.OR[1].NOT[0].x: unknown operator"),
    ],
)
def test_malformed_filters_name_where(filters: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(filters)


def test_deep_nesting_is_refused() -> None:
    filters: dict[str, Any] = {"user_id": "a"}
    for _ in range(40):
        filters = {"AND": [filters]}
    with pytest.raises(FilterError, match="nested more than"):
        validate(filters)


def test_entity_scope_narrows_only_by_what_every_match_must_have() -> None:
    assert entity_scope({"user_id": "alice", "agent_id": {"eq": "p"}, "run_id": "*"}) == {
        "user_id": "alice", "agent_id": "p",
    }  # fmt: skip
    assert entity_scope({"AND": [{"user_id": "a"}, {"AND": [{"app_id": "k"}]}]}) == {"user_id": "a", "app_id": "k"}
    assert entity_scope({"OR": [{"user_id": "a"}, {"user_id": "b"}]}) == {}
    assert entity_scope({"NOT": [{"user_id": "a"}]}) == {}
    assert entity_scope({"user_id": {"in": ["a"]}, "agent_id": {"ne": "x"}}) == {}
    assert entity_scope({"user_id": "a", "AND": [{"user_id": "b"}]}) == {}  # contradictory: no narrowing
