"""Bounded top-k lexical candidates: impact-ordered postings per (tenant, term).

Each memory's analysed terms (plain stems, or keyed hashes when content is encrypted)
are written, in the same atomic write as the memory, as one posting per distinct term:
`(tenant_id, term, impact, memory_id)`, the table's primary key. `impact` is the BM25
term-frequency part of that term in that memory, with a fixed reference length, scaled
to a small integer: for a term that occurs once (nearly always) the order it gives is
exactly BM25's within that term, whatever the tenant's average length.

A query reads each term's postings best-first (a backward range scan of the key), joined
to the memory row for the request's filters and expiry, at most `depth` per term, in one
statement of the same shape on every dialect. The core's weights (query weight x idf)
sum the impacts into an upper-bound-aware score: when the k-th best seen memory scores
at least the sum of every unexhausted term's weight x its last impact read, no unseen
memory can enter the candidates and reading stops (a threshold / WAND-style stop);
otherwise it reads the terms that may hold more once more, deeper, and then stops at
that bound whatever the case.
The work is bounded by the query (terms x depth), never by the tenant's size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from continuum.models import MemoryFilters, MemoryRecord
from continuum.storage.sql.dialect import Dialect, prefixed_columns
from continuum.storage.sql.filters import filter_clause
from continuum.storage.sql.rows import Row

K1 = 1.2
B = 0.75
REFERENCE_LENGTH = 16.0  # terms; fixed so that a posting never needs rewriting
SCALE = 100
MAX_PARAMETERS = 100  # D1 binds at most 100 parameters per statement
MAX_TERMS = 16
COMPOUND_TERMS = 5  # D1's limit on the terms of one compound SELECT
DEEPEN = 4  # the second (last) read is this many times deeper

Fetch = Callable[[str, Sequence[Any]], Awaitable[list[Row]]]


def impacts(search_terms: str) -> list[tuple[str, int]]:
    """The postings of one memory: (term, impact) for each distinct term, sorted."""
    terms = search_terms.split()
    if not terms:
        return []
    norm = K1 * (1.0 - B + B * len(terms) / REFERENCE_LENGTH)
    counts = Counter(terms)
    return sorted((t, max(1, round(SCALE * tf * (K1 + 1.0) / (tf + norm)))) for t, tf in counts.items())


def posting_rows(memory_id: str, search_terms: str) -> list[tuple[str, int, str]]:
    return [(t, i, memory_id) for t, i in impacts(search_terms)]


def term_query(d: Dialect, where: str) -> str:
    """One term's best postings among live memories that pass the filters.
    Parameters: tenant, term, now, *filter parameters, depth."""
    p = d.p
    return (
        "SELECT p.memory_id AS id, p.impact AS impact, p.term AS term FROM lexical_postings p "
        f"JOIN memories m ON m.tenant_id = p.tenant_id AND m.id = p.memory_id "
        f"WHERE p.tenant_id = {p} AND p.term = {p} AND {d.live('m.')}{where} "
        f"ORDER BY p.impact DESC, p.memory_id DESC LIMIT {p}"
    )


def candidates_statement(d: Dialect, count: int, where: str) -> str:
    """The terms' subqueries in one statement; D1 allows at most 5 terms per compound
    SELECT, so they go in groups of 5, themselves joined (at most 4 groups)."""
    one = term_query(d, where)
    parts = [f"SELECT * FROM ({one}) s{i}" for i in range(count)]
    if count <= COMPOUND_TERMS:
        return " UNION ALL ".join(parts)
    groups = [" UNION ALL ".join(parts[i : i + COMPOUND_TERMS]) for i in range(0, count, COMPOUND_TERMS)]
    return " UNION ALL ".join(f"SELECT * FROM ({g}) g{n}" for n, g in enumerate(groups))


def chosen_terms(weights: Mapping[str, float], per_term: int) -> list[str]:
    """The heaviest terms that fit one statement's parameters."""
    fit = max(1, min(MAX_TERMS, MAX_PARAMETERS // per_term))
    return sorted((t for t, w in weights.items() if w > 0), key=lambda t: (-weights[t], t))[:fit]


class Frontier:
    """What the reads so far tell: partial scores of seen memories, and per term the
    weight x impact an unseen memory could still get from it (0 once exhausted)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = weights
        self.lists: dict[str, list[tuple[str, int]]] = {}
        self.scores: dict[str, float] = {}
        self.bounds: dict[str, float] = {}

    def read(self, rows: Sequence[Row], terms: Sequence[str], depth: int) -> None:
        """Take the postings just read for `terms` (at most `depth` each)."""
        for term in terms:
            self.lists[term] = []
        for row in rows:
            self.lists[row["term"]].append((row["id"], int(row["impact"])))
        for term in terms:
            found = self.lists[term]
            self.bounds[term] = self.weights[term] * found[-1][1] if len(found) >= depth else 0.0
        self.scores = {}
        for term, found in self.lists.items():
            weight = self.weights[term]
            for memory_id, impact in found:
                self.scores[memory_id] = self.scores.get(memory_id, 0.0) + weight * impact

    def open_terms(self) -> list[str]:
        """Terms that may hold more postings than were read."""
        return [t for t, bound in self.bounds.items() if bound > 0.0]

    def settled(self, limit: int) -> bool:
        """No unseen memory can enter the best `limit`."""
        threshold = sum(self.bounds.values())
        if threshold == 0.0:
            return True
        if len(self.scores) < limit:
            return False
        kth = sorted(self.scores.values(), reverse=True)[limit - 1]
        return kth >= threshold

    def best(self, limit: int) -> list[str]:
        newest_first = sorted(self.scores, reverse=True)  # ids are time-ordered: ties go to the newest
        return sorted(newest_first, key=lambda k: -self.scores[k])[:limit]


async def top_candidates(
    fetch: Fetch,
    d: Dialect,
    tenant_id: str,
    weights: Mapping[str, float],
    filters: MemoryFilters,
    *,
    limit: int,
    now: datetime,
) -> list[MemoryRecord]:
    """The `limit` live memories with the best weighted impact sums, best first."""
    if limit <= 0 or not weights:
        return []
    where, params = filter_clause(d, filters, prefix="m.")
    terms = chosen_terms(weights, 4 + len(params))
    if not terms:
        return []
    frontier = Frontier(weights)
    depth = limit
    for attempt in range(2):
        values: list[Any] = []
        for term in terms:
            values += [tenant_id, term, d.moment(now), *params, depth]
        frontier.read(await fetch(candidates_statement(d, len(terms), where), values), terms, depth)
        if attempt == 1 or frontier.settled(limit):
            break
        terms, depth = frontier.open_terms(), depth * DEEPEN  # exhausted terms are read already
    ids = frontier.best(limit)
    if not ids:
        return []
    rows = await fetch(
        f"SELECT {prefixed_columns('m.')} FROM memories m WHERE m.tenant_id = {d.p} AND {d.in_list('m.id')}",
        (tenant_id, d.list_param(ids)),
    )
    found = {r["id"]: d.rows.memory(r) for r in rows}
    return [found[i] for i in ids if i in found]
