"""The engine's operations on learn and turn: what a conversation turn stores (and, for a turn, recalls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from continuum.core.operations.recall import Recall


@dataclass
class LearnInput:
    """A conversation turn to learn: the user's message, the AI's response and where it happened."""

    user_message: str
    ai_response: str
    thinking: str | None = None
    instance_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class LearnResult:
    """What learning a turn stored: the memories, and the concepts, decisions and links found."""

    concepts_extracted: int
    decisions_detected: int
    links_created: int
    memory_ids: list[str]
    tenant_id: str


@dataclass
class TurnInput(LearnInput):
    """A turn to learn, and what to recall for it afterwards."""

    message: str | None = None  # what to recall for; defaults to user_message
    max_concepts: int = 10
    limit: int = 10


@dataclass
class TurnResult:
    """A turn's outcome: what was learned and what was recalled."""

    recall: Recall
    learn: LearnResult
