"""The context block: what an agent pastes into its prompt before answering."""

from __future__ import annotations

from continuum.schemas import RecalledMemory, Relationship

MAX_CONTEXT_CHARS = 6_000
MAX_MEMORY_CHARS = 600


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_context(
    memories: list[RecalledMemory], concepts: list[str], relationships: list[Relationship]
) -> str:
    if not memories and not concepts:
        return ""
    lines: list[str] = []
    if memories:
        lines.append("Relevant memories (most relevant first):")
        for number, memory in enumerate(memories, start=1):
            when = memory.created_at.strftime("%Y-%m-%d %H:%M UTC")
            via = f" (via {', '.join(memory.concepts)})" if memory.concepts else ""
            lines.append(f"{number}. [{when}] {memory.role}: {_clip(memory.content, MAX_MEMORY_CHARS)}{via}")
    if concepts:
        lines.append("")
        lines.append("Related concepts: " + ", ".join(concepts))
    if relationships:
        shown = [f"{r.source} ↔ {r.target} ({r.strength:.2f})" for r in relationships[:10]]
        lines.append("Connections: " + "; ".join(shown))
    text = "\n".join(lines)
    return _clip_block(text)


def _clip_block(text: str) -> str:
    if len(text) <= MAX_CONTEXT_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_CONTEXT_CHARS)
    return text[: cut if cut > 0 else MAX_CONTEXT_CHARS]
