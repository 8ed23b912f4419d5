"""Lambda: the SQS queue that wakes the webhook_dispatch function (serverless.yml). The
outbox in the database is the truth; a message only says "there may be deliveries due",
so a lost one costs latency (the function's schedule drains the outbox every minute), never an event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("continuum.lambda")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Event = dict[str, Any]


class SqsWake:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def wake(self) -> None:
        """Best effort: a failure is logged, the write already committed its outbox rows."""
        try:
            if self._client is None:
                import boto3

                self._client = boto3.client("sqs")
            self._client.send_message(QueueUrl=self.queue_url, MessageBody='{"wake":true}')
        except Exception as exc:  # never fail the request that wrote
            log.warning("webhook queue not reached; the schedule will dispatch", extra={"error": str(exc)})


def _method(event: Event) -> str:
    http = event.get("requestContext", {}).get("http")
    return str(http.get("method") if isinstance(http, dict) else event.get("httpMethod", "GET")).upper()


def wake_after_writes(call: Callable[[Event, Any], Event], queue: SqsWake) -> Callable[[Event, Any], Event]:
    """The handler, waking the dispatcher after each successful state-changing request."""

    def handle(event: Event, context: Any) -> Event:
        answer = call(event, context)
        if _method(event) not in READ_METHODS and int(answer.get("statusCode", 500)) < 300:
            queue.wake()
        return answer

    return handle
