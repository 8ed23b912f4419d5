"""Write statements of the PostgreSQL adapter, built as (SQL, parameters) parts that
`execute_parts` joins into one round trip: one exchange's message, entities, links and
decisions, and the term-statistics changes. Lists travel as arrays (unnest)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from continuum.models import DecisionRecord, LearnWrite, MessageRecord
from continuum.storage.postgres.dialect import ts
from continuum.storage.postgres.runner import Part
from continuum.storage.sql.dialect import to_json


def message_part(tenant_id: str, msg: MessageRecord) -> Part:
    return (
        "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
        "thinking, metadata, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
        [
            msg.id,
            tenant_id,
            msg.instance_id,
            msg.session_id,
            msg.user_message,
            msg.ai_response,
            msg.thinking,
            to_json(msg.metadata),
            ts(msg.created_at),
        ],
    )


def entity_parts(tenant_id: str, write: LearnWrite, now: datetime) -> list[Part]:
    """One mention per concept occurrence; the first occurrence names a new entity."""
    mentions = Counter(c.key for c in write.concepts)
    first: dict[str, Any] = {}
    for concept in write.concepts:
        first.setdefault(concept.key, concept)
    ordered = sorted(first)  # a fixed lock order
    if not ordered:
        return []
    return [
        (
            "INSERT INTO entities (tenant_id, name_key, name, entity_type, description, mention_count, created_at, "
            "last_seen_at) SELECT %s, k, n, t, d, c, %s, %s FROM unnest(%s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::int[]) AS u(k, n, t, d, c) ON CONFLICT (tenant_id, name_key) DO UPDATE SET "
            "mention_count = entities.mention_count + EXCLUDED.mention_count, last_seen_at = EXCLUDED.last_seen_at",
            [
                tenant_id,
                now,
                now,
                ordered,
                [first[k].name for k in ordered],
                [first[k].kind for k in ordered],
                [first[k].description for k in ordered],
                [mentions[k] for k in ordered],
            ],
        )
    ]


def link_rounds(pairs: Sequence[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    """A pair given n times is strengthened n times: round k holds the pairs given > k times."""
    remaining = Counter(pairs)
    rounds = []
    while remaining:
        rounds.append(sorted(remaining))
        remaining = Counter({p: n - 1 for p, n in remaining.items() if n > 1})
    return rounds


def link_parts(tenant_id: str, rounds: Sequence[Sequence[tuple[str, ...]]], rate: float, now: datetime) -> list[Part]:
    """s <- s + rate * (1 - s) per co-occurrence, in the exact float operations of SQLite.
    Each round must be its own statement (a statement updates a row once)."""
    return [
        (
            "INSERT INTO attention_links (tenant_id, concept_a, concept_b, strength, occurrences, created_at, "
            "updated_at) SELECT %s, a, b, %s, 1, %s, %s FROM unnest(%s::text[], %s::text[]) AS u(a, b) "
            "ON CONFLICT (tenant_id, concept_a, concept_b) DO UPDATE SET "
            "strength = attention_links.strength + EXCLUDED.strength * (1.0 - attention_links.strength), "
            "occurrences = attention_links.occurrences + 1, updated_at = EXCLUDED.updated_at",
            [tenant_id, rate, now, now, [p[0] for p in batch], [p[1] for p in batch]],
        )
        for batch in rounds
    ]


def decision_parts(tenant_id: str, decisions: Sequence[DecisionRecord]) -> list[Part]:
    if not decisions:
        return []
    return [
        (
            "INSERT INTO decisions (id, tenant_id, instance_id, session_id, message_id, decision, created_at) "
            "SELECT d.id, %s, d.instance_id, d.session_id, d.message_id, d.decision, d.created_at FROM "
            "unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[]) "
            "AS d(id, instance_id, session_id, message_id, decision, created_at)",
            [
                tenant_id,
                [d.id for d in decisions],
                [d.instance_id for d in decisions],
                [d.session_id for d in decisions],
                [d.message_id for d in decisions],
                [d.decision for d in decisions],
                [ts(d.created_at) for d in decisions],
            ],
        )
    ]


def term_parts(tenant_id: str, deltas: Counter[str], docs: int, total: int) -> list[Part]:
    changed = sorted(t for t, d in deltas.items() if d)  # sorted: a fixed lock order
    parts: list[Part] = []
    if changed:
        parts.append(
            (
                "INSERT INTO term_stats (tenant_id, term, df) "
                "SELECT %s, t, d FROM unnest(%s::text[], %s::int[]) AS u(t, d) "
                "ON CONFLICT (tenant_id, term) DO UPDATE SET df = term_stats.df + EXCLUDED.df",
                [tenant_id, changed, [deltas[t] for t in changed]],
            )
        )
    if docs or total:
        parts.append(
            (
                "INSERT INTO corpus_stats (tenant_id, doc_count, term_total) VALUES (%s, %s, %s) "
                "ON CONFLICT (tenant_id) DO UPDATE SET doc_count = corpus_stats.doc_count + EXCLUDED.doc_count, "
                "term_total = corpus_stats.term_total + EXCLUDED.term_total",
                [tenant_id, docs, total],
            )
        )
    return parts
