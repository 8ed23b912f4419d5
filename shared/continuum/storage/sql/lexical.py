"""Bounded top-k lexical candidates: impact-ordered postings per (tenant, term).

Each memory's analysed terms (plain stems, or keyed hashes when content is encrypted)
are written, in the same atomic write as the memory, as one posting per distinct term:
`(tenant_id, term, impact, memory_id)`, the table's primary key. `impact` is the BM25
term-frequency part of that term in that memory, with a fixed reference length, scaled
to a small integer: for a term that occurs once (nearly always) the order it gives is
exactly BM25's within that term, whatever the tenant's average length.

A query reads each term's best postings (a backward range scan of the key, stopped by a
LIMIT), at most BUDGET postings in all, shared out between the terms by weight: a term
with fewer postings than its share is read whole, so memories that hold several rare terms get all
their weight. One statement, the same on every dialect, sums weight x impact per memory
(the core's weights: query weight x idf) and keeps the best; only those rows are read,
live ones only. With filters (instance, session, role, metadata, time) every posting is
joined to its memory row under them, so the candidates are exactly the filtered ones.
The work is bounded by the query (BUDGET postings), never by the tenant's size.
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
BUDGET = 5000  # postings read per request, shared out between its terms
FILTERED_BUDGET = 2000  # with filters each posting is also checked against its memory row
POOL = 2  # without filters, limit x POOL are ranked and the live ones kept

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


def term_query(d: Dialect, filtered: str | None) -> str:
    """One term's best postings, each as (memory id, weight x impact); `filtered` (the
    request's filter clause, possibly empty) joins each to its live memory row.
    Parameters: weight, tenant, term, [now, *filter parameters,] depth."""
    p = d.p
    if filtered is None:
        return (
            f"SELECT p.memory_id AS id, p.impact * {p} AS w FROM lexical_postings p "
            f"WHERE p.tenant_id = {p} AND p.term = {p} ORDER BY p.impact DESC, p.memory_id DESC LIMIT {p}"
        )
    return (
        f"SELECT p.memory_id AS id, p.impact * {p} AS w FROM lexical_postings p "
        "JOIN memories m ON m.tenant_id = p.tenant_id AND m.id = p.memory_id "
        f"WHERE p.tenant_id = {p} AND p.term = {p} AND {d.live('m.')}{filtered} "
        f"ORDER BY p.impact DESC, p.memory_id DESC LIMIT {p}"
    )


def candidates_statement(d: Dialect, count: int, filtered: str | None) -> str:
    """The best memories by summed weight x impact over the terms' postings. D1 allows at
    most 5 terms per compound SELECT: the terms go in groups of 5, themselves joined.
    Parameters: each term's, then the number kept."""
    one = term_query(d, filtered)
    parts = [f"SELECT * FROM ({one}) s{i}" for i in range(count)]
    if count <= COMPOUND_TERMS:
        union = " UNION ALL ".join(parts)
    else:
        groups = [" UNION ALL ".join(parts[i : i + COMPOUND_TERMS]) for i in range(0, count, COMPOUND_TERMS)]
        union = " UNION ALL ".join(f"SELECT * FROM ({g}) g{n}" for n, g in enumerate(groups))
    return f"SELECT id, SUM(w) AS score FROM ({union}) u GROUP BY id ORDER BY score DESC, id DESC LIMIT {d.p}"


def chosen_terms(weights: Mapping[str, float], per_term: int) -> list[str]:
    """The heaviest terms that fit one statement's parameters."""
    fit = max(1, min(MAX_TERMS, (MAX_PARAMETERS - 1) // per_term))
    return sorted((t for t, w in weights.items() if w > 0), key=lambda t: (-weights[t], t))[:fit]


async def _ranked(
    fetch: Fetch, d: Dialect, tenant_id: str, weights: Mapping[str, float], filters: MemoryFilters,
    *, keep: int, budget: int, now: datetime, filtered: bool,
) -> list[str]:  # fmt: skip
    where, params = filter_clause(d, filters, prefix="m.") if filtered else ("", [])
    extra = [d.moment(now), *params] if filtered else []
    terms = chosen_terms(weights, 4 + len(extra))
    if not terms:
        return []
    total = sum(weights[t] for t in terms)
    values: list[Any] = []
    for term in terms:  # the budget is shared out by weight: a rarer term may read deeper
        depth = max(keep, int(budget * weights[term] / total))
        values += [float(weights[term]), tenant_id, term, *extra, depth]
    statement = candidates_statement(d, len(terms), where if filtered else None)
    return [r["id"] for r in await fetch(statement, [*values, keep])]


async def _live_rows(fetch: Fetch, d: Dialect, tenant_id: str, ids: list[str], now: datetime) -> list[MemoryRecord]:
    if not ids:
        return []
    # A join with the list, one primary-key lookup per id: PostgreSQL answers `id = ANY($1)`
    # on the (tenant_id, id) key with a bitmap scan that was 60x slower for 300 ids.
    listed = "unnest(%s::text[]) AS u(value)" if d.name == "postgres" else "json_each(?) AS u"
    rows = await fetch(
        f"SELECT {prefixed_columns('m.')} FROM {listed} JOIN memories m ON m.tenant_id = {d.p} "
        f"AND m.id = u.value WHERE {d.live('m.')}",
        (d.list_param(ids), tenant_id, d.moment(now)),
    )
    found = {r["id"]: d.rows.memory(r) for r in rows}
    return [found[i] for i in ids if i in found]


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
    """The `limit` live memories (passing the filters) with the best weighted impact sums."""
    if limit <= 0 or not weights:
        return []
    unfiltered = filters == MemoryFilters()
    if unfiltered:  # postings alone (index-only), then the rows of the best, live ones
        keep = limit * POOL
        ids = await _ranked(fetch, d, tenant_id, weights, filters, keep=keep, budget=BUDGET, now=now, filtered=False)
        found = await _live_rows(fetch, d, tenant_id, ids, now)
        if len(found) >= limit or len(ids) < keep:
            return found[:limit]
        # many of the best have expired: ask again with each posting checked against its row
    ids = await _ranked(
        fetch, d, tenant_id, weights, filters, keep=limit, budget=FILTERED_BUDGET, now=now, filtered=True
    )
    return await _live_rows(fetch, d, tenant_id, ids, now)
