"""The webhook outbox with one SQL shape in every dialect: the statements a write adds to
its own atomic batch or transaction (one delivery per matching active webhook of the
tenant, so a tenant with none gets no row), and the `Storage` port's webhook methods.

A delivery's id is made from its event's and webhook's ids ("dlv_{event}_{webhook}"), so
the statement needs no read first and one event reaches each webhook once."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from continuum.models import DeliveryOutcome, DeliveryRecord, Event, MemoryRecord, WebhookRecord
from continuum.ports import OutboxEventSource
from continuum.storage.sql.dialect import Dialect, Runner, Statement, to_json

WEBHOOK_COLUMNS = "tenant_id, id, url, events, description, secret, status, created_at, updated_at"
DELIVERY_COLUMNS = (
    "tenant_id, id, webhook_id, event_id, event_type, payload, status, attempts, next_attempt_at, "
    "last_attempt_at, response_status, last_error, created_at"
)
ERASED = "tenant.erased"


def _encode_events(events: Sequence[str]) -> str:
    # the same text as continuum.core.webhooks.encode_events (storage does not import the core)
    return "*" if not events else "," + ",".join(events) + ","


def fan_out(d: Dialect, event: Event, *, landed: str | None = None) -> Statement:
    """One pending delivery of `event` per active webhook of its tenant that receives it;
    with `landed`, only if that memory's row exists (an insert that lost to a duplicate
    raises nothing: ids are fresh, so the row exists only if this write put it there)."""
    p, now = d.p, d.moment(event.occurred_at)
    suffix = event.id.removeprefix("evt_")
    sql = (
        f"INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, status, "
        f"attempts, next_attempt_at, created_at) SELECT w.tenant_id, CAST({p} AS TEXT) || substr(w.id, 4), w.id, "
        f"CAST({p} AS TEXT), CAST({p} AS TEXT), CAST({p} AS TEXT), 'pending', 0, {p}, {p} FROM webhooks w "
        f"WHERE w.tenant_id = {p} AND w.status = 'active' AND (w.events = '*' OR w.events LIKE {p})"
    )
    params: list[Any] = [
        f"dlv_{suffix}_", event.id, event.type, to_json(event.body()), now, now,
        event.tenant_id, f"%,{event.type},%",
    ]  # fmt: skip
    if landed is not None:
        sql += f" AND EXISTS (SELECT 1 FROM memories m WHERE m.tenant_id = {p} AND m.id = {p})"
        params += [event.tenant_id, landed]
    return sql, params


def created_statements(
    d: Dialect, events: OutboxEventSource | None, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime
) -> list[Statement]:
    """memory.created for each memory, if its row landed (SQLite dialect: decided in the batch)."""
    if events is None or not memories:
        return []
    made = events.created(tenant_id, memories, now)
    return [fan_out(d, e, landed=m.id) for m, e in zip(memories, made, strict=True)]


def event_statements(d: Dialect, made: Sequence[Event]) -> list[Statement]:
    return [fan_out(d, e) for e in made]


def erase_statements(d: Dialect, events: OutboxEventSource | None, tenant_id: str) -> list[Statement]:
    """The tenant's outbox at its erasure: tenant.erased for its subscribed active webhooks
    (kept, marked erased, until delivered or dead), nothing else of it."""
    p = d.p
    statements: list[Statement] = [(f"DELETE FROM webhook_deliveries WHERE tenant_id = {p}", (tenant_id,))]
    if events is not None:
        statements.append(fan_out(d, events.erased(tenant_id, events.clock.now())))
    statements += [
        (
            "UPDATE webhooks SET status = 'erased' WHERE tenant_id = "
            f"{p} AND EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.tenant_id = webhooks.tenant_id "
            "AND x.webhook_id = webhooks.id)",
            (tenant_id,),
        ),
        (f"DELETE FROM webhooks WHERE tenant_id = {p} AND status <> 'erased'", (tenant_id,)),
    ]
    return statements


class SqlOutbox:
    """The `Storage` port's webhook methods over a runner and its dialect."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect

    def _optional(self, value: Any) -> datetime | None:
        return None if value is None else self.d.rows.moment(value)

    def _webhook(self, row: Any) -> WebhookRecord:
        moment = self.d.rows.moment
        text = row["events"]
        return WebhookRecord(
            tenant_id=row["tenant_id"], id=row["id"], url=row["url"],
            events=() if text == "*" else tuple(e for e in text.split(",") if e),
            description=row["description"], secret=row["secret"], status=row["status"],
            created_at=moment(row["created_at"]), updated_at=moment(row["updated_at"]),
        )  # fmt: skip

    def _delivery(self, row: Any) -> DeliveryRecord:
        moment = self.d.rows.moment
        return DeliveryRecord(
            tenant_id=row["tenant_id"], id=row["id"], webhook_id=row["webhook_id"], event_id=row["event_id"],
            event_type=row["event_type"], payload=row["payload"], status=row["status"],
            attempts=int(row["attempts"]), next_attempt_at=moment(row["next_attempt_at"]),
            last_attempt_at=self._optional(row["last_attempt_at"]), response_status=row["response_status"],
            last_error=row["last_error"], created_at=moment(row["created_at"]),
        )  # fmt: skip

    async def create_webhook(self, record: WebhookRecord) -> None:
        p, m = self.d.p, self.d.moment
        values = (
            record.tenant_id, record.id, record.url, _encode_events(record.events), record.description,
            record.secret, record.status, m(record.created_at), m(record.updated_at),
        )  # fmt: skip
        marks = ", ".join([p] * len(values))
        await self.db.run_batch([(f"INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ({marks})", values)])

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> WebhookRecord | None:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = {p} AND id = {p}", (tenant_id, webhook_id)
        )
        return self._webhook(rows[0]) if rows else None

    async def list_webhooks(self, tenant_id: str) -> list[WebhookRecord]:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = {p} AND status <> 'erased' ORDER BY id",
            (tenant_id,),
        )
        return [self._webhook(r) for r in rows]

    async def update_webhook(self, record: WebhookRecord) -> None:
        p, m = self.d.p, self.d.moment
        await self.db.run_batch(
            [
                (
                    f"UPDATE webhooks SET url = {p}, events = {p}, description = {p}, secret = {p}, status = {p}, "
                    f"updated_at = {p} WHERE tenant_id = {p} AND id = {p}",
                    (
                        record.url, _encode_events(record.events), record.description, record.secret,
                        record.status, m(record.updated_at), record.tenant_id, record.id,
                    ),
                )
            ]
        )  # fmt: skip

    async def delete_webhook(self, tenant_id: str, webhook_id: str) -> bool:
        if await self.get_webhook(tenant_id, webhook_id) is None:
            return False
        p = self.d.p
        await self.db.run_batch(
            [
                (f"DELETE FROM webhook_deliveries WHERE tenant_id = {p} AND webhook_id = {p}", (tenant_id, webhook_id)),
                (f"DELETE FROM webhooks WHERE tenant_id = {p} AND id = {p}", (tenant_id, webhook_id)),
            ]
        )
        return True

    async def enqueue_delivery(self, record: DeliveryRecord) -> None:
        p, m = self.d.p, self.d.moment
        values = (
            record.tenant_id, record.id, record.webhook_id, record.event_id, record.event_type, record.payload,
            record.status, record.attempts, m(record.next_attempt_at), self.d.opt_moment(record.last_attempt_at),
            record.response_status, record.last_error, m(record.created_at),
        )  # fmt: skip
        marks = ", ".join([p] * len(values))
        await self.db.run_batch([(f"INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES ({marks})", values)])

    async def get_delivery(self, tenant_id: str, delivery_id: str) -> DeliveryRecord | None:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = {p} AND id = {p}",
            (tenant_id, delivery_id),
        )
        return self._delivery(rows[0]) if rows else None

    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, *, status: str | None, before_id: str | None, limit: int
    ) -> list[DeliveryRecord]:
        p = self.d.p
        where, params = [f"tenant_id = {p}", f"webhook_id = {p}"], [tenant_id, webhook_id]
        if status is not None:
            where.append(f"status = {p}")
            params.append(status)
        if before_id is not None:
            where.append(f"id < {p}")
            params.append(before_id)
        rows = await self.db.fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT {p}",
            (*params, limit),
        )
        return [self._delivery(r) for r in rows]

    async def claim_deliveries(self, now: datetime, lease_until: datetime, *, limit: int) -> list[DeliveryRecord]:
        p, m = self.d.p, self.d.moment
        due = await self.db.fetch(
            f"SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= {p} LIMIT 1", (m(now),)
        )
        if not due:  # the idle poll reads, never writes
            return []
        claim = secrets.token_hex(12)
        # the outer condition is checked again on each row: a concurrent claimer that took
        # it first has moved its time past `now` (PostgreSQL re-reads the row it waited for)
        await self.db.run_batch(
            [
                (
                    f"UPDATE webhook_deliveries SET claim = {p}, next_attempt_at = {p} WHERE status = 'pending' "
                    f"AND next_attempt_at <= {p} AND (tenant_id, id) IN (SELECT tenant_id, id FROM "
                    f"webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= {p} "
                    f"ORDER BY next_attempt_at LIMIT {p})",
                    (claim, m(lease_until), m(now), m(now), limit),
                )
            ]
        )
        rows = await self.db.fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE claim = {p} AND status = 'pending' "
            f"AND next_attempt_at = {p} ORDER BY created_at, id",
            (claim, m(lease_until)),
        )
        return [self._delivery(r) for r in rows]

    async def finish_delivery(self, tenant_id: str, delivery_id: str, outcome: DeliveryOutcome) -> None:
        p, m = self.d.p, self.d.moment
        if outcome.delivered:
            status, due = "delivered", outcome.at
        elif outcome.retry_at is not None:
            status, due = "pending", outcome.retry_at
        else:
            status, due = "dead", outcome.at
        await self.db.run_batch(
            [
                (
                    f"UPDATE webhook_deliveries SET status = {p}, attempts = attempts + 1, next_attempt_at = {p}, "
                    f"last_attempt_at = {p}, response_status = {p}, last_error = {p}, claim = NULL "
                    f"WHERE tenant_id = {p} AND id = {p}",
                    (
                        status, m(due), m(outcome.at), outcome.response_status, outcome.error,
                        tenant_id, delivery_id,
                    ),
                )
            ]
        )  # fmt: skip

    async def replay_delivery(self, tenant_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        p = self.d.p
        await self.db.run_batch(
            [
                (
                    f"UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = {p}, "
                    f"claim = NULL WHERE tenant_id = {p} AND id = {p}",
                    (self.d.moment(now), tenant_id, delivery_id),
                )
            ]
        )
        return await self.get_delivery(tenant_id, delivery_id)
