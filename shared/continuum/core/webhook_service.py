"""Webhooks: a tenant's endpoints (create, list, update, delete, rotate the secret, send a
test event, list and replay deliveries) and the dispatcher that drains the outbox.

The outbox is written by the storage with each change (`Storage.record_events`); the
dispatcher claims due deliveries (a lease: a dispatcher that dies leaves them due again),
signs and sends each, and records the outcome: delivered, pending again after a back-off
with jitter, or dead once the attempts are spent. Every runtime drives the same
`Dispatcher.run_once`: a background task on the local server, a queue consumer on Lambda,
a cron on the Worker (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import NamedTuple

from continuum.clock import Clock
from continuum.core.crypto import ContentCipher
from continuum.core.webhooks import (
    RetrySchedule,
    check_events,
    check_url,
    delivery_body,
    delivery_headers,
    ip_literal,
    new_secret,
    refusal_message,
    refused_address,
    short_error,
)
from continuum.errors import InvalidInput, NotFound
from continuum.ids import IdGenerator
from continuum.models import DeliveryOutcome, DeliveryRecord, WebhookRecord
from continuum.ports import Storage, WebhookSender

TEST_EVENT = "webhook.test"
DELIVERY_STATUSES = ("pending", "delivered", "dead")
MAX_DESCRIPTION = 500
MAX_WEBHOOKS_PER_TENANT = 20
CONCURRENT_SENDS = 8


class WebhooksDisabled(NotFound):
    code = "webhooks_disabled"

    def __init__(self) -> None:
        super().__init__(
            "webhooks are not enabled on this server: set CONTINUUM_ENABLE_WEBHOOKS=true to use /v1/webhooks"
        )


class WebhookConfig(NamedTuple):
    allow_private: bool = False
    max_attempts: int = 8
    retry_base: float = 10.0  # seconds before the first retry (doubling after)
    timeout: float = 10.0  # the sender's, for the lease
    batch: int = 50  # deliveries one run claims


class Webhooks:
    """The webhook routes' operations, scoped by tenant, and the dispatcher."""

    def __init__(
        self, storage: Storage, sender: WebhookSender, cipher: ContentCipher, ids: IdGenerator, clock: Clock,
        config: WebhookConfig,
    ) -> None:  # fmt: skip
        self.storage = storage
        self.sender = sender
        self.cipher = cipher
        self.ids = ids
        self.clock = clock
        self.config = config
        self.schedule = RetrySchedule(config.retry_base, config.max_attempts)

    # ---- endpoints ----------------------------------------------------------------------

    async def check_target(self, url: str) -> None:
        """Refuse a URL that does not resolve or reaches a private address (SSRF)."""
        refusal = await self._refusal(url)
        if refusal is not None:
            raise InvalidInput(f"url: {refusal}")

    async def create(
        self, tenant_id: str, url: str, events: list[str] | None, description: str | None
    ) -> tuple[WebhookRecord, str]:
        """The new webhook and its secret (shown this once)."""
        chosen = check_events(events)
        await self.check_target(url)
        if len(await self.storage.list_webhooks(tenant_id)) >= MAX_WEBHOOKS_PER_TENANT:
            raise InvalidInput(f"a tenant has at most {MAX_WEBHOOKS_PER_TENANT} webhooks: delete one first")
        now, secret = self.clock.now(), new_secret()
        record = WebhookRecord(
            tenant_id=tenant_id, id=f"wh_{self.ids.new_id()}", url=url, events=chosen,
            description=_description(description), secret=self.cipher.encrypt(secret), status="active",
            created_at=now, updated_at=now,
        )  # fmt: skip
        await self.storage.ensure_tenant(tenant_id, None, now)
        await self.storage.create_webhook(record)
        return record, secret

    async def list(self, tenant_id: str) -> list[WebhookRecord]:
        return await self.storage.list_webhooks(tenant_id)

    async def get(self, tenant_id: str, webhook_id: str) -> WebhookRecord:
        record = await self.storage.get_webhook(tenant_id, webhook_id)
        if record is None or record.status == "erased":
            raise NotFound(f"webhook {webhook_id} not found")
        return record

    async def update(
        self, tenant_id: str, webhook_id: str, *, url: str | None = None, events: list[str] | None = None,
        description: str | None = None, active: bool | None = None, all_events: bool = False,
    ) -> WebhookRecord:  # fmt: skip
        record = await self.get(tenant_id, webhook_id)
        if url is not None:
            await self.check_target(url)
            record.url = url
        if events is not None or all_events:
            record.events = check_events(events)
        if description is not None:
            record.description = _description(description)
        if active is not None:
            record.status = "active" if active else "disabled"
        record.updated_at = self.clock.now()
        await self.storage.update_webhook(record)
        return record

    async def delete(self, tenant_id: str, webhook_id: str) -> None:
        await self.get(tenant_id, webhook_id)
        await self.storage.delete_webhook(tenant_id, webhook_id)

    async def rotate_secret(self, tenant_id: str, webhook_id: str) -> tuple[WebhookRecord, str]:
        """A new secret (shown this once); deliveries are signed with it from now on."""
        record = await self.get(tenant_id, webhook_id)
        secret = new_secret()
        record.secret, record.updated_at = self.cipher.encrypt(secret), self.clock.now()
        await self.storage.update_webhook(record)
        return record, secret

    async def send_test(self, tenant_id: str, webhook_id: str) -> DeliveryRecord:
        """A `webhook.test` event for this webhook, attempted now (retried as any other)."""
        webhook = await self.get(tenant_id, webhook_id)
        now, event_id = self.clock.now(), f"evt_{self.ids.new_id()}"
        body = {
            "id": event_id, "type": TEST_EVENT, "tenant_id": tenant_id,
            "created_at": now.isoformat().replace("+00:00", "Z"), "data": {"webhook_id": webhook_id},
        }  # fmt: skip
        record = DeliveryRecord(
            tenant_id=tenant_id, id=f"dlv_{event_id.removeprefix('evt_')}_{webhook_id.removeprefix('wh_')}",
            webhook_id=webhook_id, event_id=event_id, event_type=TEST_EVENT,
            payload=json.dumps(body, separators=(",", ":"), sort_keys=True), status="pending", attempts=0,
            next_attempt_at=now + self._lease(), last_attempt_at=None, response_status=None, last_error=None,
            created_at=now,
        )  # fmt: skip
        await self.storage.enqueue_delivery(record)
        await self._deliver(record, webhook)
        return await self._delivery(tenant_id, webhook_id, record.id)

    async def deliveries(
        self, tenant_id: str, webhook_id: str, *, status: str | None, before: str | None, limit: int
    ) -> list[DeliveryRecord]:
        await self.get(tenant_id, webhook_id)
        if status is not None and status not in DELIVERY_STATUSES:
            raise InvalidInput(f"status: one of {', '.join(DELIVERY_STATUSES)}")
        return await self.storage.list_deliveries(tenant_id, webhook_id, status=status, before_id=before, limit=limit)

    async def replay(self, tenant_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord:
        """Send a delivery again (dead or delivered): pending, due now, attempts from zero."""
        await self._delivery(tenant_id, webhook_id, delivery_id)
        record = await self.storage.replay_delivery(tenant_id, delivery_id, self.clock.now())
        assert record is not None
        return record

    async def _delivery(self, tenant_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord:
        record = await self.storage.get_delivery(tenant_id, delivery_id)
        if record is None or record.webhook_id != webhook_id:
            raise NotFound(f"delivery {delivery_id} not found")
        return record

    # ---- the dispatcher -----------------------------------------------------------------

    async def close(self) -> None:
        await self.sender.close()

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.config.timeout + 30)

    async def run_once(self) -> int:
        """Claim the due deliveries and attempt each; how many were attempted."""
        now = self.clock.now()
        claimed = await self.storage.claim_deliveries(now, now + self._lease(), limit=self.config.batch)
        if not claimed:
            return 0
        gate = asyncio.Semaphore(CONCURRENT_SENDS)
        hooks: dict[tuple[str, str], WebhookRecord | None] = {}

        async def one(delivery: DeliveryRecord) -> None:
            key = (delivery.tenant_id, delivery.webhook_id)
            if key not in hooks:
                hooks[key] = await self.storage.get_webhook(*key)
            async with gate:
                await self._deliver(delivery, hooks[key])

        await asyncio.gather(*(one(d) for d in claimed))
        return len(claimed)

    async def _deliver(self, delivery: DeliveryRecord, webhook: WebhookRecord | None) -> DeliveryOutcome:
        outcome = await self._attempt(delivery, webhook)
        await self.storage.finish_delivery(delivery.tenant_id, delivery.id, outcome)
        final = outcome.delivered or outcome.retry_at is None
        if final and webhook is not None and webhook.status == "erased" and delivery.event_type == "tenant.erased":
            # the erased tenant's last trace: its endpoint heard of the erasure (or never will)
            await self.storage.delete_webhook(webhook.tenant_id, webhook.id)
        return outcome

    async def _attempt(self, delivery: DeliveryRecord, webhook: WebhookRecord | None) -> DeliveryOutcome:
        attempts = delivery.attempts + 1
        if webhook is None or webhook.status == "disabled":
            why = "webhook removed" if webhook is None else "webhook disabled"
            return DeliveryOutcome(delivered=False, at=self.clock.now(), error=why)
        error = await self._refusal(webhook.url)
        status: int | None = None
        if error is None:
            body = delivery_body(delivery.payload, self.cipher)
            at = int(self.clock.now().timestamp())
            secret = self.cipher.decrypt(webhook.secret)
            headers = delivery_headers(secret, at, body, event_type=delivery.event_type, delivery_id=delivery.id)
            result = await self.sender.send(webhook.url, headers, body)
            status, error = result.status, result.error
        now = self.clock.now()
        if error is None and status is not None and 200 <= status < 300:
            return DeliveryOutcome(delivered=True, at=now, response_status=status)
        return DeliveryOutcome(
            delivered=False, at=now, response_status=status, error=short_error(error or f"HTTP {status}"),
            retry_at=self.schedule.next_attempt(attempts, now),
        )  # fmt: skip

    async def _refusal(self, url: str) -> str | None:
        """Why `url` must not be reached, or None. Checked again at each attempt: the host's
        addresses may have changed since the webhook was created."""
        try:
            host = check_url(url)
        except InvalidInput as exc:
            return exc.message.removeprefix("url: ")
        addresses = ip_literal(host) or await self.sender.resolve(host)
        if addresses is None:  # the platform resolves and connects (a Worker's fetch)
            return None
        if not addresses:
            return f"host {host} does not resolve"
        refused = refused_address(addresses, allow_private=self.config.allow_private)
        return None if refused is None else refusal_message(host, refused).removeprefix("url: ")


def _description(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(f"description: at most {MAX_DESCRIPTION} characters")
    return text
