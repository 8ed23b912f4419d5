"""Idempotency-Key on write routes, as pure ASGI middleware inside the request middleware.

With the header, a write is claimed per (tenant, key) with a fingerprint of method, path and
body before it runs; its 2xx response is recorded and replayed to retries (with
`Idempotent-Replayed: true`). The same key with another body is a 422; a retry while the
first attempt still runs is a 409 with Retry-After. Non-2xx results are not recorded, so a
corrected request may reuse the key. Without the header nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from continuum.api.envelope import error_body, error_headers
from continuum.api.manifest import WRITE_ROUTES
from continuum.api.middleware import read_body
from continuum.core.idempotency import (
    IdempotencyStore,
    IdempotencyUnavailable,
    IdempotencyUnsupported,
    StoredResponse,
)
from continuum.errors import ContinuumError
from continuum.observability.logging import tenant_id_var

log = logging.getLogger("continuum.idempotency")

MAX_KEY_LENGTH = 255
MAX_RECORDED_BODY = 350_000  # DynamoDB items stop at 400 KB
LOCK_SECONDS = 120  # longer than any request may run (API Gateway stops at 30 s)

Message = dict[str, Any]


async def _send_json(send: Any, status: int, payload: dict[str, Any], extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(payload).encode()
    headers = [*error_headers(body), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: Any, *, store: IdempotencyStore, ttl: int) -> None:
        self.app = app
        self.store = store
        self.ttl = ttl

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in WRITE_ROUTES:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            message = f"Idempotency-Key header: must be 1 to {MAX_KEY_LENGTH} printable characters"
            await _send_json(send, 422, error_body("invalid_input", message), [])
            return
        tenant = await self._tenant(scope, headers)
        if tenant is None:  # let the route answer the auth error exactly as it would without the key
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        digest = hashlib.sha256(f"{scope['method']} {scope['path']}\n".encode() + body).hexdigest()
        record_key = f"{tenant}#{key}"
        try:
            claim = await self.store.claim(record_key, digest, lock_seconds=LOCK_SECONDS)
        except IdempotencyUnsupported as exc:
            await _send_json(send, 422, error_body("idempotency_unsupported", str(exc)), [])
            return
        except IdempotencyUnavailable as exc:
            log.warning("idempotency store unavailable", extra={"error": str(exc)})
            message = "idempotency store unavailable; retry with the same Idempotency-Key"
            await _send_json(send, 503, error_body("service_unavailable", message), [(b"retry-after", b"2")])
            return
        if claim.state == "completed" and claim.response is not None:
            stored = claim.response
            await send({"type": "http.response.start", "status": stored.status, "headers": [
                (b"content-type", stored.content_type.encode("latin-1")),
                (b"content-length", str(len(stored.body)).encode()), (b"idempotent-replayed", b"true"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": stored.body})
            return
        if claim.state == "mismatch":
            message = "Idempotency-Key was already used for a different request; use a new key"
            await _send_json(send, 422, error_body("idempotency_key_reused", message), [])
            return
        if claim.state == "in_progress":
            message = "a request with this Idempotency-Key is still being processed; retry shortly"
            await _send_json(send, 409, error_body("conflict", message), [(b"retry-after", b"1")])
            return
        await self._run_and_record(scope, body, send, record_key, digest)

    async def _tenant(self, scope: dict[str, Any], headers: dict[str, str]) -> str | None:
        from continuum.core.auth import credential_from_headers

        services = await scope["app"].state.provider.get()
        try:
            credential = credential_from_headers(headers.get("x-api-key"), headers.get("authorization"))
            principal = await services.auth.authenticate(
                credential, acting_tenant=headers.get("x-continuum-tenant")
            )
        except ContinuumError:
            return None
        if not principal.allows("write"):  # the route refuses it (403); a stored answer must not be replayed to it
            return None
        tenant_id_var.set(principal.tenant_id)
        return principal.tenant_id

    async def _run_and_record(self, scope: dict[str, Any], body: bytes, send: Any, key: str, digest: str) -> None:
        status = 500
        content_type = "application/json"
        chunks: list[bytes] = []
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await self._release(key, digest)
            raise
        response = b"".join(chunks)
        if 200 <= status < 300 and len(response) <= MAX_RECORDED_BODY:
            try:
                await self.store.complete(key, digest, StoredResponse(status, response, content_type), ttl=self.ttl)
            except Exception:  # the write succeeded; a lost record only weakens replay
                log.exception("could not record idempotent response")
        else:
            await self._release(key, digest)

    async def _release(self, key: str, digest: str) -> None:
        try:
            await self.store.release(key, digest)
        except Exception:  # the lock expires by itself
            log.exception("could not release idempotency key")
