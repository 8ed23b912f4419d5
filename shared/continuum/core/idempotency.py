"""Idempotency-Key for writes: a retried request returns the first result, stores nothing twice.

The API layer (`continuum.api.idempotency`) claims `(tenant, key)` with a fingerprint of the
request before running it, then records the response. The store behind the `IdempotencyStore`
port (`continuum.ports`) must be shared by every instance that serves the tenant: DynamoDB on
Lambda (`continuum.aws.idempotency`), or any shared `Cache` (Redis, Upstash) through
`CacheIdempotencyStore`.
"""

from __future__ import annotations

import base64
import json

from continuum.ports import (
    Cache,
    Claim,
    IdempotencyStore,
    IdempotencyUnavailable,
    IdempotencyUnsupported,
    StoredResponse,
)

__all__ = [
    "CacheIdempotencyStore", "Claim", "IdempotencyStore", "IdempotencyUnavailable", "IdempotencyUnsupported",
    "StoredResponse", "UnsupportedIdempotencyStore", "store_for",
]  # fmt: skip

class UnsupportedIdempotencyStore:
    """Refuses every key, loudly: silently ignoring one would make retries unsafe."""

    name = "unsupported"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def claim(self, key: str, fingerprint: str, *, lock_seconds: int) -> Claim:
        raise IdempotencyUnsupported(self.reason)

    async def complete(self, key: str, fingerprint: str, response: StoredResponse, *, ttl: int) -> None:
        raise IdempotencyUnsupported(self.reason)

    async def release(self, key: str, fingerprint: str) -> None:
        pass


def store_for(shared: Cache | None, *, local: Cache | None, prefix: str, hint: str) -> IdempotencyStore:
    """The shared cache when there is one; else `local` (given only when one process serves
    everything); otherwise a store that refuses keys, explaining `hint`."""
    if shared is not None:
        return CacheIdempotencyStore(shared, prefix=prefix)
    if local is not None:
        return CacheIdempotencyStore(local, prefix=prefix)
    return UnsupportedIdempotencyStore(f"Idempotency-Key needs a store shared by every instance: {hint}")


class CacheIdempotencyStore:
    """Idempotency records in a `Cache` (atomic `set_if_absent` claims the key)."""

    name = "cache"

    def __init__(self, cache: Cache, *, prefix: str = "idem:") -> None:
        self.cache = cache
        self.prefix = prefix

    async def claim(self, key: str, fingerprint: str, *, lock_seconds: int) -> Claim:
        from continuum.ports import CacheUnavailable

        try:
            for _ in range(3):
                record = json.dumps({"state": "in_progress", "fp": fingerprint})
                if await self.cache.set_if_absent(self.prefix + key, record, lock_seconds):
                    return Claim("new")
                raw = await self.cache.get(self.prefix + key)
                if raw is not None:
                    return _claim_from(json.loads(raw), fingerprint)
        except CacheUnavailable as exc:
            raise IdempotencyUnavailable(str(exc)) from exc
        raise IdempotencyUnavailable("idempotency record kept changing; retry")

    async def complete(self, key: str, fingerprint: str, response: StoredResponse, *, ttl: int) -> None:
        record = {
            "state": "completed", "fp": fingerprint, "status": response.status,
            "body": base64.b64encode(response.body).decode("ascii"), "type": response.content_type,
        }  # fmt: skip
        await self.cache.set(self.prefix + key, json.dumps(record), ttl)

    async def release(self, key: str, fingerprint: str) -> None:
        await self.cache.delete(self.prefix + key)


def _claim_from(record: dict, fingerprint: str) -> Claim:
    if record.get("fp") != fingerprint:
        return Claim("mismatch")
    if record.get("state") != "completed":
        return Claim("in_progress")
    body = base64.b64decode(record["body"])
    return Claim("completed", StoredResponse(int(record["status"]), body, record["type"]))
