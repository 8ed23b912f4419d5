"""/v1/webhooks: a tenant's endpoints, their secrets (shown once, on create and rotate),
test events and deliveries (docs/webhooks.md). Off unless CONTINUUM_ENABLE_WEBHOOKS=true:
every route then answers 404 `webhooks_disabled` saying so."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path, Query, Response
from pydantic import Field

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.openapi import error
from continuum.api.routes import RouteTable
from continuum.core.webhook_service import Webhooks, WebhooksDisabled
from continuum.models import EVENT_TYPES, DeliveryRecord, WebhookRecord
from continuum.schemas import Model, Strict
from continuum.services import Services

router = RouteTable(tags=["webhooks"])
OFF = {404: error("Webhooks are off (CONTINUUM_ENABLE_WEBHOOKS), or nothing with that id in the tenant")}

EventType = Literal["memory.created", "memory.updated", "memory.deleted", "concept.discovered", "tenant.erased"]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]
WEBHOOK_ID = r"^wh_[0-9A-Za-z]{1,64}$"
DELIVERY_ID = r"^dlv_[0-9A-Za-z_]{1,140}$"
WebhookId = Annotated[str, Path(pattern=WEBHOOK_ID)]
DeliveryId = Annotated[str, Path(pattern=DELIVERY_ID)]
Url = Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://\S+$")]
Description = Annotated[str, Field(max_length=500)]


class WebhookCreate(Strict):
    url: Url
    events: list[EventType] | None = Field(default=None, description="The event types to receive (default: all)")
    description: Description | None = None


class WebhookUpdate(Strict):
    url: Url | None = None
    events: list[EventType] | None = Field(default=None, description="The event types to receive; [] for all")
    description: Description | None = None
    active: bool | None = Field(default=None, description="false: no new deliveries until true again")


class Webhook(Model):
    id: str
    url: str
    events: list[str] = Field(description="The event types it receives ([]: all)")
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    secret: str = Field(description="The HMAC-SHA256 key that signs deliveries: shown this once")


class WebhookList(Model):
    webhooks: list[Webhook]


class Delivery(Model):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: str = Field(description="pending, delivered or dead (retries exhausted)")
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried next")
    last_attempt_at: datetime | None
    response_status: int | None
    last_error: str | None
    created_at: datetime


class DeliveryList(Model):
    deliveries: list[Delivery]
    next_before: str | None = Field(description="Pass as `before` for the next page (None: no more)")


def _webhooks(services: Services) -> Webhooks:
    if services.webhooks is None:
        raise WebhooksDisabled()
    return services.webhooks


def _view(record: WebhookRecord) -> Webhook:
    return Webhook(
        id=record.id, url=record.url, events=list(record.events), description=record.description,
        active=record.status == "active", created_at=record.created_at, updated_at=record.updated_at,
    )  # fmt: skip


def _with_secret(record: WebhookRecord, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**_view(record).model_dump(), secret=secret)


def _delivery(record: DeliveryRecord) -> Delivery:
    return Delivery(
        id=record.id, webhook_id=record.webhook_id, event_id=record.event_id, event_type=record.event_type,
        status=record.status, attempts=record.attempts,
        next_attempt_at=record.next_attempt_at if record.status == "pending" else None,
        last_attempt_at=record.last_attempt_at, response_status=record.response_status,
        last_error=record.last_error, created_at=record.created_at,
    )  # fmt: skip


@router.post("/v1/webhooks", response_model=WebhookWithSecret, status_code=201, responses=OFF)
async def create_webhook(body: WebhookCreate, principal: PrincipalDep, services: ServicesDep) -> WebhookWithSecret:
    """A new endpoint for the caller's tenant. Its secret is shown once: keep it to verify
    the `X-Continuum-Signature` of each delivery. Private, loopback and link-local targets
    are refused unless CONTINUUM_WEBHOOK_ALLOW_PRIVATE=true."""
    record, secret = await _webhooks(services).create(
        principal.tenant_id, body.url, list(body.events) if body.events is not None else None, body.description
    )
    return _with_secret(record, secret)


@router.get("/v1/webhooks", response_model=WebhookList, responses=OFF)
async def list_webhooks(principal: PrincipalDep, services: ServicesDep) -> WebhookList:
    """The tenant's webhooks, oldest first (never their secrets)."""
    return WebhookList(webhooks=[_view(r) for r in await _webhooks(services).list(principal.tenant_id)])


@router.get("/v1/webhooks/{webhook_id}", response_model=Webhook, responses=OFF)
async def get_webhook(webhook_id: WebhookId, principal: PrincipalDep, services: ServicesDep) -> Webhook:
    return _view(await _webhooks(services).get(principal.tenant_id, webhook_id))


@router.patch("/v1/webhooks/{webhook_id}", response_model=Webhook, responses=OFF)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, principal: PrincipalDep, services: ServicesDep
) -> Webhook:
    """Change the URL, the events, the description, or pause it (`active: false`)."""
    events = list(body.events) if body.events else None
    record = await _webhooks(services).update(
        principal.tenant_id, webhook_id, url=body.url, events=events, description=body.description,
        active=body.active, all_events=body.events == [],
    )  # fmt: skip
    return _view(record)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, response_class=Response, responses=OFF)
async def delete_webhook(webhook_id: WebhookId, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Remove the webhook and its deliveries."""
    await _webhooks(services).delete(principal.tenant_id, webhook_id)
    return Response(status_code=204)


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", response_model=WebhookWithSecret, responses=OFF)
async def rotate_secret(webhook_id: WebhookId, principal: PrincipalDep, services: ServicesDep) -> WebhookWithSecret:
    """A new secret, shown once; deliveries are signed with it from now on."""
    record, secret = await _webhooks(services).rotate_secret(principal.tenant_id, webhook_id)
    return _with_secret(record, secret)


@router.post("/v1/webhooks/{webhook_id}/test", response_model=Delivery, responses=OFF)
async def send_test(webhook_id: WebhookId, principal: PrincipalDep, services: ServicesDep) -> Delivery:
    """Send a `webhook.test` event now; the delivery tells how it went (retried if it failed)."""
    return _delivery(await _webhooks(services).send_test(principal.tenant_id, webhook_id))


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=DeliveryList, responses=OFF)
async def list_deliveries(
    webhook_id: WebhookId,
    principal: PrincipalDep,
    services: ServicesDep,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    before: Annotated[str | None, Query(pattern=DELIVERY_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """The webhook's deliveries, newest first; `status=dead` lists those whose retries ran out."""
    found = await _webhooks(services).deliveries(
        principal.tenant_id, webhook_id, status=status, before=before, limit=limit
    )
    return DeliveryList(
        deliveries=[_delivery(d) for d in found], next_before=found[-1].id if len(found) == limit else None
    )


@router.post("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", response_model=Delivery, responses=OFF)
async def replay_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, principal: PrincipalDep, services: ServicesDep
) -> Delivery:
    """Send a delivery again (a dead one, typically): pending and due now, attempts from zero."""
    return _delivery(await _webhooks(services).replay(principal.tenant_id, webhook_id, delivery_id))
