"""Write bookkeeping common to every dialect: which memories to insert, what each
insert reports, and the term-statistics changes of inserted, changed or removed rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from continuum.models import InsertResult, MemoryRecord
from continuum.storage.sql.rows import Row

ContentKey = tuple[str, str]  # (scope_key, content_hash)


def first_of_each_id(memories: Sequence[MemoryRecord], existing: set[str]) -> Iterator[MemoryRecord]:
    """New memories, each id once (an import file may repeat a line)."""
    seen = set(existing)
    for memory in memories:
        if memory.id not in seen:
            seen.add(memory.id)
            yield memory


def lost_contents(memories: Sequence[MemoryRecord], existing: set[str], landed: set[str]) -> list[ContentKey]:
    """The content keys of new memories that did not land (their content is held already)."""
    return sorted({(m.scope_key, m.content_hash) for m in memories if m.id not in existing and m.id not in landed})


def insert_results(
    memories: Sequence[MemoryRecord], existing: set[str], landed: set[str], owner: dict[ContentKey, str]
) -> list[InsertResult]:
    """Which rows landed, and for the others the id of the memory that holds the content."""
    results = []
    reported: set[str] = set()
    for memory in memories:
        if memory.id in existing or memory.id in reported:
            results.append(InsertResult(id=memory.id, status="duplicate"))
        elif memory.id in landed:
            results.append(InsertResult(id=memory.id, status="stored"))
        else:
            holder = owner.get((memory.scope_key, memory.content_hash), memory.id)
            results.append(InsertResult(id=holder, status="duplicate"))
        reported.add(memory.id)
    return results


def added_terms(memories: Iterable[MemoryRecord]) -> tuple[Counter[str], int]:
    """Document-frequency increments and the term total of memories that landed."""
    deltas: Counter[str] = Counter()
    total = 0
    for memory in memories:
        terms = memory.terms
        total += len(terms)
        deltas.update(set(terms))
    return deltas, total


def removed_terms(rows: Sequence[Row]) -> tuple[Counter[str], int]:
    """Document-frequency decrements and the (negative) term total of removed rows."""
    deltas: Counter[str] = Counter()
    total = 0
    for row in rows:
        terms = row["search_terms"].split()
        total += len(terms)
        for term in set(terms):
            deltas[term] -= 1
    return deltas, -total


def changed_terms(old_terms: Sequence[str], new_terms: Sequence[str]) -> Counter[str]:
    deltas: Counter[str] = Counter()
    for term in set(old_terms):
        deltas[term] -= 1
    for term in set(new_terms):
        deltas[term] += 1
    return deltas
