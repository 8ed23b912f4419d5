"""Write statements with one shape in every dialect: tenants, imported rows (API keys: `keys.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from continuum.storage.sql.dialect import Dialect, Statement, to_json


def ensure_tenant(dialect: Dialect, tenant_id: str, name: str | None, now: datetime) -> Statement:
    p = dialect.p
    return (
        f"INSERT INTO tenants (tenant_id, name, created_at) VALUES ({p}, {p}, {p}) "
        "ON CONFLICT (tenant_id) DO UPDATE SET name = COALESCE(excluded.name, tenants.name) "
        "WHERE excluded.name IS NOT NULL",
        (tenant_id, name, dialect.moment(now)),
    )


def import_statement(dialect: Dialect, kind: str) -> str:
    """The statement writing one exported message, decision, entity or link; existing rows
    with the same identity are kept (messages, decisions) or replaced (entities, links)."""
    p, j = dialect.p, dialect.json_param
    if kind == "message":
        return (
            "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
            f"thinking, metadata, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, {p}) "
            "ON CONFLICT DO NOTHING"
        )
    if kind == "decision":
        return (
            "INSERT INTO decisions (id, tenant_id, instance_id, session_id, message_id, decision, created_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING"
        )
    if kind == "entity":
        return (
            "INSERT INTO entities (tenant_id, name_key, name, entity_type, description, mention_count, "
            f"created_at, last_seen_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
            "ON CONFLICT (tenant_id, name_key) DO UPDATE "
            "SET name = excluded.name, entity_type = excluded.entity_type, description = excluded.description, "
            "mention_count = excluded.mention_count, created_at = excluded.created_at, "
            "last_seen_at = excluded.last_seen_at"
        )
    if kind == "link":
        return (
            "INSERT INTO attention_links (tenant_id, concept_a, concept_b, strength, occurrences, created_at, "
            f"updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) "
            "ON CONFLICT (tenant_id, concept_a, concept_b) DO UPDATE SET "
            "strength = excluded.strength, occurrences = excluded.occurrences, created_at = excluded.created_at, "
            "updated_at = excluded.updated_at"
        )
    if kind == "history":
        return (
            "INSERT INTO memory_history (id, tenant_id, memory_id, instance_id, session_id, event, old_content, "
            f"new_content, metadata, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {j}, {p}) "
            "ON CONFLICT DO NOTHING"
        )
    raise ValueError(f"unknown export kind {kind!r}")


def import_values(dialect: Dialect, tenant_id: str, kind: str, row: Any) -> tuple[Any, ...]:
    moment = dialect.moment
    if kind == "message":
        return (
            row.id, tenant_id, row.instance_id, row.session_id, row.user_message, row.ai_response,
            row.thinking, to_json(row.metadata), moment(row.created_at),
        )  # fmt: skip
    if kind == "decision":
        return (
            row.id, tenant_id, row.instance_id, row.session_id, row.message_id, row.decision,
            moment(row.created_at),
        )  # fmt: skip
    if kind == "entity":
        return (
            tenant_id, row.key, row.name, row.entity_type, row.description, row.mention_count,
            moment(row.created_at), moment(row.last_seen_at),
        )  # fmt: skip
    if kind == "link":
        return (
            tenant_id, row.concept_a, row.concept_b, row.strength, row.occurrences,
            moment(row.created_at), moment(row.updated_at),
        )  # fmt: skip
    if kind == "history":
        return (
            row.id, tenant_id, row.memory_id, row.instance_id, row.session_id, row.event, row.old_content,
            row.new_content, to_json(row.metadata), moment(row.created_at),
        )  # fmt: skip
    raise ValueError(f"unknown export kind {kind!r}")
