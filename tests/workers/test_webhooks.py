"""Webhooks on the Worker (`wrangler/serve-local`: the real entry in Pyodide, wrangler's local
D1): the outbox written in the D1 batch of each write, the every-minute cron delivering it
over the Worker's outbound HTTP, to a real local receiver that verifies signatures."""

from __future__ import annotations

import httpx
import pytest

from tests.support.targets_workers import WorkersTarget
from tests.support.webhook_receiver import Receiver, wait_for
from tests.support.workers_env import require_tooling

pytestmark = pytest.mark.slow  # starts the Pyodide harness


def test_the_cron_delivers_the_outbox_signed() -> None:
    require_tooling()
    env = {"CONTINUUM_ENABLE_WEBHOOKS": "true", "CONTINUUM_WEBHOOK_ALLOW_PRIVATE": "true",
           "CONTINUUM_WEBHOOK_RETRY_BASE_SECONDS": "0.2"}  # fmt: skip
    running = WorkersTarget().start(require_api_key=True, extra_env=env)
    try:
        tenant_id, client = running.new_tenant()
        with Receiver() as receiver, client:
            created = client.post("/v1/webhooks", json={"url": receiver.url(), "events": ["memory.created"]})
            assert created.status_code == 201, created.text
            hook = created.json()
            receiver.secrets["/hook"] = hook["secret"]
            assert client.post("/v1/memories", json={"content": "sent by the cron"}).status_code == 201
            assert receiver.received == []  # nothing leaves before the cron runs
            cron = httpx.get(f"{running.url}/__scheduled", params={"cron": "* * * * *"}, timeout=60)
            assert cron.status_code == 200
            wait_for(lambda: receiver.received, timeout=10)
            got = receiver.received[0]
            assert got.verified and got.event["tenant_id"] == tenant_id
            assert got.event["data"]["memory"]["content"] == "sent by the cron"
            delivered = client.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "delivered"})
            assert len(delivered.json()["deliveries"]) == 1
            tested = client.post(f"/v1/webhooks/{hook['id']}/test")
            assert tested.status_code == 200 and tested.json()["status"] == "delivered", tested.text
    finally:
        running.stop()
