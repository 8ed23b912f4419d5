"""Webhooks on Lambda, offline: the webhooks function (HTTP API events), a write that wakes
the dispatcher through SQS (moto_server), and the webhook_dispatch function invoked with
the queue's real message and with a schedule event, delivering to a real local receiver
that verifies signatures. PostgreSQL and secrets as tests/lambda/conftest.py deploys them."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from continuum.aws.dispatch import WebhookDispatchHandler
from continuum.aws.handler import LambdaHandler
from tests.support.webhook_receiver import Receiver

from .support import LambdaContext, answer, boto3_client, event


@pytest.fixture(scope="module")
def webhook_env(deployment):
    sqs = boto3_client("sqs", deployment.moto)
    queue_url = sqs.create_queue(QueueName=f"continuum-webhooks-{secrets.token_hex(4)}")["QueueUrl"]
    env = {
        **deployment.env, "CONTINUUM_ENABLE_WEBHOOKS": "true", "CONTINUUM_WEBHOOK_ALLOW_PRIVATE": "true",
        "CONTINUUM_WEBHOOK_QUEUE_URL": queue_url, "CONTINUUM_WEBHOOK_TIMEOUT_SECONDS": "2",
        "CONTINUUM_WEBHOOK_RETRY_BASE_SECONDS": "0.3",
    }  # fmt: skip
    return env, sqs, queue_url


def _call(handler, method: str, path: str, key: str, body=None):
    context = LambdaContext("continuum-test-webhooks")
    return answer(handler(event("v2", method, path, headers={"x-api-key": key}, body=body), context))


def test_a_write_wakes_the_dispatcher_which_delivers_signed_events(deployment, webhook_env) -> None:
    env, sqs, queue_url = webhook_env
    webhooks, memories = LambdaHandler("webhooks", environ=env), LambdaHandler("memories", environ=env)
    admin = LambdaHandler("admin", environ=env)
    tenant_id = f"t-{secrets.token_hex(5)}"
    status, _, created_key = _call(admin, "POST", "/v1/keys", deployment.admin_key, {"tenant_id": tenant_id})
    assert status == 201, created_key
    key = created_key["api_key"]
    with Receiver() as receiver:
        subscription = {"url": receiver.url(), "events": ["memory.created"]}
        status, _, hook = _call(webhooks, "POST", "/v1/webhooks", key, subscription)
        assert status == 201, hook
        receiver.secrets["/hook"] = hook["secret"]
        sqs.purge_queue(QueueUrl=queue_url)  # creating the webhook was a write too

        status, _, stored = _call(memories, "POST", "/v1/memories", key, {"content": "delivered from Lambda"})
        assert status == 201, stored
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
        assert len(messages) == 1
        records = [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q"}
            for m in messages
        ]  # fmt: skip
        dispatch = WebhookDispatchHandler(environ=env)
        assert dispatch({"Records": records}, LambdaContext("continuum-test-webhook_dispatch")) == {"attempted": 1}
        assert [e["data"]["memory"]["content"] for e in receiver.events()] == ["delivered from Lambda"]
        assert receiver.received[0].verified and receiver.received[0].event["tenant_id"] == tenant_id

        # the receiver goes down: the delivery stays pending, and the schedule delivers it later
        receiver.stop()
        _call(memories, "POST", "/v1/memories", key, {"content": "while it was down"})
        assert dispatch({"Records": records}, LambdaContext()) == {"attempted": 1}
        status, _, listed = _call(webhooks, "GET", f"/v1/webhooks/{hook['id']}/deliveries", key)
        assert [d["status"] for d in listed["deliveries"]] == ["pending", "delivered"]
        receiver.start()
        tick = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
        for _ in range(40):  # the first retry is due within 0.15-0.3 s
            dispatch(tick, LambdaContext())
            if len(receiver.received) == 2:
                break
            time.sleep(0.1)
        assert json.loads(receiver.received[1].body)["data"]["memory"]["content"] == "while it was down"
