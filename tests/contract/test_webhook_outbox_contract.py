"""The webhook outbox contract, on every storage adapter: deliveries are written with the
change that raised them (and only then), one per matching active webhook of the tenant;
claims are exclusive; erasure leaves only tenant.erased; tenants never see each other's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from continuum.clock import ManualClock
from continuum.core.webhooks import OutboxEvents
from continuum.ids import IdGenerator
from continuum.models import ConceptMention, DeliveryOutcome, LearnWrite, MemoryChanges, MessageRecord, WebhookRecord
from continuum.ports import Storage
from tests.contract.test_storage_contract import NOW, changes_for, memory, new_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


def webhook(tenant: str, *events: str, status: str = "active") -> WebhookRecord:
    return WebhookRecord(
        tenant_id=tenant, id=f"wh_{new_id()}", url="https://example.com/hook", events=tuple(events),
        description="", secret="s3cret", status=status, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def _deliveries(storage: Storage, tenant: str, hook: WebhookRecord) -> list:
    return await storage.list_deliveries(tenant, hook.id, status=None, before_id=None, limit=100)


def _recording(storage: Storage) -> None:
    storage.record_events(OutboxEvents(IdGenerator(), ManualClock(NOW)))


@pytest.fixture
def recording(storage: Storage) -> Iterator[Storage]:
    """The session's storage recording events for this test only (each test has its own tenants)."""
    _recording(storage)
    try:
        yield storage
    finally:
        storage.record_events(None)


async def test_nothing_is_written_until_events_are_recorded(storage: Storage, tenant: str) -> None:
    hook = webhook(tenant)
    await storage.create_webhook(hook)
    await storage.insert_memories(tenant, [memory(tenant, "quiet")], NOW, history_ids=[new_id()])
    assert await _deliveries(storage, tenant, hook) == []


async def test_writes_fan_out_to_matching_active_webhooks(recording: Storage, tenant: str, other_tenant: str):
    every, created_only = webhook(tenant), webhook(tenant, "memory.created")
    paused, other = webhook(tenant, status="disabled"), webhook(other_tenant)
    for hook in (every, created_only, paused, other):
        await recording.create_webhook(hook)

    first, twin = memory(tenant, "alpha words"), memory(tenant, "alpha words")  # twin loses to first
    await recording.insert_memories(tenant, [first, twin], NOW, history_ids=[new_id(), new_id()])
    await recording.update_memory(tenant, first.id, changes_for("beta words"), NOW, history_id=new_id())
    assert await recording.delete_memory(tenant, first.id, NOW, history_id=new_id())
    assert not await recording.delete_memory(tenant, first.id, NOW, history_id=new_id())

    got = await _deliveries(recording, tenant, every)
    assert sorted(d.event_type for d in got) == ["memory.created", "memory.deleted", "memory.updated"]
    assert all(d.status == "pending" and d.attempts == 0 for d in got)
    created = next(d for d in got if d.event_type == "memory.created")
    body = json.loads(created.payload)
    assert body["type"] == "memory.created" and body["tenant_id"] == tenant and body["id"] == created.event_id
    assert body["data"]["memory"]["id"] == first.id and body["data"]["memory"]["content"] == "alpha words"
    assert created.id == f"dlv_{created.event_id[4:]}_{every.id[3:]}"
    updated = next(d for d in got if d.event_type == "memory.updated")
    assert json.loads(updated.payload)["data"]["memory"]["content"] == "beta words"
    assert [d.event_type for d in await _deliveries(recording, tenant, created_only)] == ["memory.created"]
    assert await _deliveries(recording, tenant, paused) == []
    assert await _deliveries(recording, other_tenant, other) == []
    assert await _deliveries(recording, other_tenant, every) == []  # another tenant's webhook id: nothing


async def test_learn_raises_created_and_discovered_once(recording: Storage, tenant: str) -> None:
    hook = webhook(tenant, "memory.created", "concept.discovered")
    await recording.create_webhook(hook)
    for text in ("Aurora ships in May", "Aurora slips to June"):
        mem = memory(tenant, text)
        write = LearnWrite(
            message=MessageRecord(
                id=new_id(), tenant_id=tenant, instance_id=None, session_id=None, user_message=text,
                ai_response="", thinking=None, metadata={}, created_at=NOW,
            ),
            memories=[mem], concepts=[ConceptMention(key="aurora", name="Aurora", kind="project", description="")],
            links=[], decisions=[], link_increment=0.1, now=NOW, history_ids=[new_id()],
        )  # fmt: skip
        await recording.learn(tenant, write)
    kinds = sorted(d.event_type for d in await _deliveries(recording, tenant, hook))
    assert kinds == ["concept.discovered", "memory.created", "memory.created"]


async def test_claims_are_exclusive_and_outcomes_recorded(fresh_storage: Storage, tenant: str) -> None:
    _recording(fresh_storage)
    hook = webhook(tenant)
    await fresh_storage.create_webhook(hook)
    await fresh_storage.insert_memories(tenant, [memory(tenant, "one"), memory(tenant, "two")], NOW,
                                        history_ids=[new_id(), new_id()])  # fmt: skip
    lease = NOW + timedelta(seconds=40)
    claimed = await fresh_storage.claim_deliveries(NOW, lease, limit=10)
    assert len(claimed) == 2 and {d.tenant_id for d in claimed} == {tenant}
    assert await fresh_storage.claim_deliveries(NOW, lease, limit=10) == []  # leased
    ok, failed = claimed
    await fresh_storage.finish_delivery(tenant, ok.id, DeliveryOutcome(delivered=True, at=NOW, response_status=200))
    retry = NOW + timedelta(seconds=5)
    outcome = DeliveryOutcome(delivered=False, at=NOW, response_status=503, error="HTTP 503", retry_at=retry)
    await fresh_storage.finish_delivery(tenant, failed.id, outcome)
    assert (await fresh_storage.get_delivery(tenant, ok.id)).status == "delivered"
    again = await fresh_storage.get_delivery(tenant, failed.id)
    assert (again.status, again.attempts, again.last_error, again.next_attempt_at) == ("pending", 1, "HTTP 503", retry)
    assert await fresh_storage.claim_deliveries(NOW, lease, limit=10) == []  # not due yet
    assert [d.id for d in await fresh_storage.claim_deliveries(retry, lease + timedelta(seconds=5), limit=10)] == [
        failed.id
    ]
    await fresh_storage.finish_delivery(tenant, failed.id, DeliveryOutcome(delivered=False, at=retry, error="down"))
    dead = await fresh_storage.get_delivery(tenant, failed.id)
    assert (dead.status, dead.attempts) == ("dead", 2)
    dead_ones = await fresh_storage.list_deliveries(tenant, hook.id, status="dead", before_id=None, limit=5)
    assert [d.id for d in dead_ones] == [failed.id]
    replayed = await fresh_storage.replay_delivery(tenant, failed.id, retry)
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    assert await fresh_storage.replay_delivery("nobody", failed.id, retry) is None


async def test_erasure_leaves_only_tenant_erased(recording: Storage, tenant: str, other_tenant: str) -> None:
    told, untold, other = webhook(tenant, "tenant.erased"), webhook(tenant, "memory.created"), webhook(other_tenant)
    for hook in (told, untold, other):
        await recording.create_webhook(hook)
    await recording.insert_memories(tenant, [memory(tenant, "gone")], NOW, history_ids=[new_id()])
    await recording.insert_memories(other_tenant, [memory(other_tenant, "kept")], NOW, history_ids=[new_id()])
    await recording.erase_tenant(tenant)

    assert await recording.list_webhooks(tenant) == []
    assert await recording.get_webhook(tenant, untold.id) is None
    kept = await recording.get_webhook(tenant, told.id)
    assert kept is not None and kept.status == "erased"
    assert [d.event_type for d in await _deliveries(recording, tenant, told)] == ["tenant.erased"]
    assert await _deliveries(recording, tenant, untold) == []
    assert [d.event_type for d in await _deliveries(recording, other_tenant, other)] == ["memory.created"]
    assert await recording.delete_webhook(tenant, told.id)  # what the dispatcher does once it is told
    assert await recording.get_webhook(tenant, told.id) is None


async def test_webhooks_are_scoped_by_tenant(storage: Storage, tenant: str, other_tenant: str) -> None:
    hook = webhook(tenant, "memory.deleted")
    await storage.create_webhook(hook)
    assert [w.id for w in await storage.list_webhooks(tenant)] == [hook.id]
    assert (await storage.get_webhook(tenant, hook.id)).events == ("memory.deleted",)
    assert await storage.get_webhook(other_tenant, hook.id) is None
    assert await storage.list_webhooks(other_tenant) == []
    assert not await storage.delete_webhook(other_tenant, hook.id)
    hook.url, hook.events, hook.updated_at = "https://example.org/x", (), NOW + timedelta(seconds=1)
    await storage.update_webhook(hook)
    again = await storage.get_webhook(tenant, hook.id)
    assert (again.url, again.events, again.updated_at) == ("https://example.org/x", (), hook.updated_at)
    assert await storage.delete_webhook(tenant, hook.id)
    assert await storage.get_webhook(tenant, hook.id) is None


async def test_unchanged_memory_raises_no_update(recording: Storage, tenant: str) -> None:
    hook = webhook(tenant, "memory.updated")
    await recording.create_webhook(hook)
    missing = "0" * 26
    assert await recording.update_memory(tenant, missing, MemoryChanges(role="x"), NOW, history_id=new_id()) is None
    assert await _deliveries(recording, tenant, hook) == []
