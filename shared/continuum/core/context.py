"""The context block: what an agent pastes into its prompt before answering.

Plain text, short, ready for a prompt: the recalled memories (most relevant first,
each with the date it was stored, its session, and the concepts that linked it to
the message), then the concepts found and how they connect. Bounded in size.
"""

from __future__ import annotations

from continuum.core.operations.recall import ConceptRelation, RecalledItem

MAX_CONTEXT_CHARS = 6_000
MAX_MEMORY_CHARS = 600
MAX_CONNECTIONS = 10


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _memory_line(number: int, memory: RecalledItem) -> str:
    when = memory.created_at.strftime("%Y-%m-%d %H:%M UTC")
    where = f", session {memory.session_id}" if memory.session_id else ""
    via = f" (linked by: {', '.join(memory.concepts)})" if memory.concepts else ""
    return f"{number}. [{when}{where}] {memory.role}: {_clip(memory.content, MAX_MEMORY_CHARS)}{via}"


def build_context(
    memories: list[RecalledItem], concepts: list[str], relationships: list[ConceptRelation]
) -> str:
    if not memories and not concepts:
        return ""
    lines: list[str] = []
    if memories:
        lines.append("Relevant memories (most relevant first; [date stored, session]):")
        lines += [_memory_line(number, memory) for number, memory in enumerate(memories, start=1)]
    if concepts:
        lines.append("")
        lines.append("Related concepts: " + ", ".join(concepts))
    if relationships:
        shown = [f"{r.source} ↔ {r.target} ({r.strength:.2f})" for r in relationships[:MAX_CONNECTIONS]]
        lines.append("Connections: " + "; ".join(shown))
    return _clip_block("\n".join(lines))


def _clip_block(text: str) -> str:
    if len(text) <= MAX_CONTEXT_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_CONTEXT_CHARS)
    return text[: cut if cut > 0 else MAX_CONTEXT_CHARS]
