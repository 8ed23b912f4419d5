"""The recall context block: memories with dates, sessions and linking concepts, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from continuum.core.context import MAX_CONTEXT_CHARS, build_context
from continuum.core.operations.recall import ConceptRelation, RecalledItem


def recalled(content: str, concepts: list[str], session: str | None = "s1") -> RecalledItem:
    return RecalledItem(
        id="01", content=content, role="user", score=1.0, created_at=datetime(2024, 3, 5, 9, 30, tzinfo=UTC),
        instance_id=None, session_id=session, metadata={}, concepts=concepts,
    )  # fmt: skip


def test_block_lists_memories_with_dates_sessions_and_concepts():
    block = build_context(
        [recalled("Orion uses Kafka", ["Orion", "Kafka"]), recalled("no session here", [], session=None)],
        ["Orion", "Kafka"],
        [ConceptRelation(source="Orion", target="Kafka", strength=0.36)],
    )
    lines = block.splitlines()
    assert lines[1] == "1. [2024-03-05 09:30 UTC, session s1] user: Orion uses Kafka (linked by: Orion, Kafka)"
    assert lines[2] == "2. [2024-03-05 09:30 UTC] user: no session here"
    assert "Related concepts: Orion, Kafka" in block and "Orion ↔ Kafka (0.36)" in block


def test_block_is_empty_without_anything_and_bounded_with_too_much():
    assert build_context([], [], []) == ""
    block = build_context([recalled("word " * 400, []) for _ in range(40)], [], [])
    assert all(len(line) <= 700 for line in block.splitlines())
    assert len(block) <= MAX_CONTEXT_CHARS
