"""Idempotency records in DynamoDB with conditional writes, shared by every Lambda instance.

Why not Powertools' idempotency utility: it keys on the Lambda event (a JMESPath into it) and
stores the handler's return value; the API needs the tenant that authentication resolves,
a fingerprint of the request, the HTTP status and body, and a 409 with Retry-After for a
duplicate in flight, all behind the same port the other runtimes use. Three conditional
writes do exactly that.

Item: `id` (tenant#key), `state` (in_progress|completed), `fp` (request fingerprint),
`lock_until` (epoch s; an attempt that died frees the key then), `expires_at` (epoch s; the
table's TTL attribute), and once completed `status`, `body`, `ctype`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from continuum.ports import Claim, IdempotencyUnavailable, StoredResponse


class DynamoDBIdempotencyStore:
    name = "dynamodb"

    def __init__(self, table: str, *, client: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self._client = client
        self._clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # in the Lambda runtime; imported on the first keyed write only

            self._client = boto3.client("dynamodb")
        return self._client

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, method), **kwargs)

    async def claim(self, key: str, fingerprint: str, *, lock_seconds: int) -> Claim:
        from botocore.exceptions import BotoCoreError, ClientError

        for _ in range(3):
            now = int(self._clock())
            try:
                await self._call(
                    "put_item",
                    TableName=self.table,
                    Item={
                        "id": {"S": key}, "state": {"S": "in_progress"}, "fp": {"S": fingerprint},
                        "lock_until": {"N": str(now + lock_seconds)}, "expires_at": {"N": str(now + lock_seconds)},
                    },
                    ConditionExpression=(
                        "attribute_not_exists(id) OR expires_at < :now "
                        "OR (#state = :in_progress AND lock_until < :now)"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={":now": {"N": str(now)}, ":in_progress": {"S": "in_progress"}},
                )
                return Claim("new")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise IdempotencyUnavailable(f"DynamoDB {self.table}: {exc}") from exc
            except BotoCoreError as exc:
                raise IdempotencyUnavailable(f"DynamoDB {self.table}: {exc}") from exc
            try:
                found = await self._call(
                    "get_item", TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
                )
            except (ClientError, BotoCoreError) as exc:
                raise IdempotencyUnavailable(f"DynamoDB {self.table}: {exc}") from exc
            item = found.get("Item")
            if item is None:  # expired and removed between the two calls: claim again
                continue
            if item["fp"]["S"] != fingerprint:
                return Claim("mismatch")
            if item["state"]["S"] != "completed":
                return Claim("in_progress")
            stored = StoredResponse(int(item["status"]["N"]), bytes(item["body"]["B"]), item["ctype"]["S"])
            return Claim("completed", stored)
        raise IdempotencyUnavailable("idempotency record kept changing; retry")

    async def complete(self, key: str, fingerprint: str, response: StoredResponse, *, ttl: int) -> None:
        await self._call(
            "put_item",
            TableName=self.table,
            Item={
                "id": {"S": key}, "state": {"S": "completed"}, "fp": {"S": fingerprint},
                "expires_at": {"N": str(int(self._clock()) + ttl)}, "status": {"N": str(response.status)},
                "body": {"B": response.body}, "ctype": {"S": response.content_type},
            },
        )

    async def release(self, key: str, fingerprint: str) -> None:
        from botocore.exceptions import ClientError

        try:
            await self._call(
                "delete_item",
                TableName=self.table,
                Key={"id": {"S": key}},
                ConditionExpression="fp = :fp AND #state = :in_progress",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":fp": {"S": fingerprint}, ":in_progress": {"S": "in_progress"}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
