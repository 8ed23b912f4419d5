"""The webhook service and dispatcher (continuum.core.webhook_service) over a real SQLite
storage, with a scripted sender standing in for the network: outcomes, dead-letter, the
SSRF check at send time, disabled and erased webhooks, secrets encrypted at rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from continuum.client.webhooks import verify_signature
from continuum.clock import ManualClock
from continuum.core.crypto import ContentCipher
from continuum.core.webhook_service import WebhookConfig, Webhooks
from continuum.core.webhooks import OutboxEvents
from continuum.errors import InvalidInput, NotFound
from continuum.ids import IdGenerator
from continuum.ports import SendResult
from continuum.storage.sqlite import SqliteStorage
from tests.contract.test_storage_contract import memory, new_id

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class ScriptedSender:
    def __init__(self) -> None:
        self.addresses: list[str] | None = ["93.184.216.34"]
        self.answers: list[SendResult] = []
        self.sent: list[tuple[str, dict[str, str], bytes]] = []

    async def resolve(self, host: str) -> list[str] | None:
        return self.addresses

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        self.sent.append((url, headers, body))
        return self.answers.pop(0) if self.answers else SendResult(200)

    async def close(self) -> None:
        pass


@pytest.fixture
async def parts(tmp_path):
    storage = SqliteStorage(str(tmp_path / "hooks.db"))
    await storage.connect()
    await storage.migrate()
    clock, sender, cipher = ManualClock(NOW), ScriptedSender(), ContentCipher(b"k" * 32)
    storage.record_events(OutboxEvents(IdGenerator(), clock))
    webhooks = Webhooks(storage, sender, cipher, IdGenerator(), clock, WebhookConfig(max_attempts=3, retry_base=1))
    yield storage, clock, sender, webhooks
    await storage.close()


async def _write(storage: SqliteStorage, tenant: str, text: str) -> None:
    await storage.insert_memories(tenant, [memory(tenant, text)], NOW, history_ids=[new_id()])


async def test_delivers_signed_and_keeps_the_secret_encrypted(parts) -> None:
    storage, _clock, sender, webhooks = parts
    hook, secret = await webhooks.create("t1", "https://hooks.example.com/in", None, "mine")
    assert hook.secret != secret and secret not in hook.secret  # at rest: ciphertext
    await _write(storage, "t1", "hello")
    assert await webhooks.run_once() == 1
    url, headers, body = sender.sent[0]
    verify_signature(secret, headers["X-Continuum-Timestamp"], body, headers["X-Continuum-Signature"],
                     now=NOW.timestamp())  # fmt: skip
    assert url == "https://hooks.example.com/in" and b'"content":"hello"' in body
    assert await webhooks.run_once() == 0


async def test_failures_back_off_then_go_dead_and_replay_revives(parts) -> None:
    storage, clock, sender, webhooks = parts
    hook, _ = await webhooks.create("t1", "https://hooks.example.com/in", ["memory.created"], None)
    await _write(storage, "t1", "x")
    sender.answers = [SendResult(503, "HTTP 503"), SendResult(None, "timed out after 10s"), SendResult(500, "HTTP 500")]
    assert await webhooks.run_once() == 1
    assert await webhooks.run_once() == 0  # not due before its back-off
    for _ in range(2):
        clock.advance(seconds=10)
        assert await webhooks.run_once() == 1
    [dead] = await webhooks.deliveries("t1", hook.id, status="dead", before=None, limit=10)
    assert dead.attempts == 3 and dead.last_error == "HTTP 500" and dead.response_status == 500
    await webhooks.replay("t1", hook.id, dead.id)
    assert await webhooks.run_once() == 1
    assert (await storage.get_delivery("t1", dead.id)).status == "delivered"


async def test_targets_that_turn_private_are_not_reached(parts) -> None:
    storage, _clock, sender, webhooks = parts
    hook, _ = await webhooks.create("t1", "https://rebinding.example.com/", None, None)
    sender.addresses = ["169.254.169.254"]  # its name now points inside
    await _write(storage, "t1", "x")
    await webhooks.run_once()
    assert sender.sent == []
    [pending] = await webhooks.deliveries("t1", hook.id, status=None, before=None, limit=5)
    assert "CONTINUUM_WEBHOOK_ALLOW_PRIVATE" in pending.last_error
    with pytest.raises(InvalidInput, match="private, loopback or link-local"):
        await webhooks.create("t1", "https://inside.example.com/", None, None)
    sender.addresses = []
    with pytest.raises(InvalidInput, match="does not resolve"):
        await webhooks.create("t1", "https://nowhere.example.com/", None, None)
    with pytest.raises(InvalidInput, match="private"):
        await webhooks.create("t1", "http://10.0.0.1/", None, None)  # a literal needs no lookup


async def test_disabled_webhooks_get_no_new_deliveries(parts) -> None:
    storage, _clock, _sender, webhooks = parts
    hook, _ = await webhooks.create("t1", "https://hooks.example.com/in", None, None)
    await webhooks.update("t1", hook.id, active=False)
    await _write(storage, "t1", "x")
    assert await webhooks.run_once() == 0
    await webhooks.update("t1", hook.id, active=True, events=["memory.deleted"])
    assert (await webhooks.get("t1", hook.id)).events == ("memory.deleted",)


async def test_an_erased_tenants_webhook_goes_once_told(parts) -> None:
    storage, _clock, sender, webhooks = parts
    hook, _ = await webhooks.create("t1", "https://hooks.example.com/in", ["tenant.erased"], None)
    await storage.erase_tenant("t1")
    with pytest.raises(NotFound):
        await webhooks.get("t1", hook.id)
    assert await webhooks.run_once() == 1
    assert b'"type":"tenant.erased"' in sender.sent[0][2]
    assert await storage.get_webhook("t1", hook.id) is None  # nothing of the tenant remains


async def test_the_test_event_is_attempted_at_once(parts) -> None:
    _storage, _clock, sender, webhooks = parts
    hook, _ = await webhooks.create("t1", "https://hooks.example.com/in", None, None)
    sender.answers = [SendResult(500, "HTTP 500")]
    tried = await webhooks.send_test("t1", hook.id)
    assert (tried.status, tried.attempts, tried.event_type) == ("pending", 1, "webhook.test")
    with pytest.raises(NotFound):
        await webhooks.send_test("t2", hook.id)
