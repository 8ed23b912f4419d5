"""What the sync and async clients share: configuration, the calls they make, the retry
policy and the reading of answers. Nothing here does I/O; `sync.py` and `aio.py` send.

Retries: 429 and 503 (and a 409 "still being processed" of a keyed write) are retried with
exponential back-off and full jitter, waiting at least the server's `Retry-After`. A
connection that could not be opened is retried for every call; one that broke after the
request may have arrived only for calls that are safe to repeat: reads, queries sent as
POST, PATCH/DELETE (idempotent by nature) and writes carrying an `Idempotency-Key` (the
same key on every attempt, so the server stores the write once).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from continuum import __version__
from continuum.api.manifest import WRITE_ROUTES
from continuum.client.errors import ConnectionError, ContinuumError, envelope, error_from_response

DEFAULT_URL = "http://127.0.0.1:8420"
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
QUERY_ROUTES = frozenset({("POST", "/v1/recall"), ("POST", "/v1/search")})


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` retries after the first attempt; attempt n (0-based) waits a random time
    up to min(`max_delay`, `base_delay` * 2**n), or the server's Retry-After when that is
    longer. A Retry-After beyond `max_retry_after` is not waited for: the error is raised."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` + 1, or None: give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is None:
            return self.backoff(attempt)
        if retry_after > self.max_retry_after:
            return None
        # At least what the server asked; a little jitter above it spreads a crowd of clients.
        return retry_after + random.uniform(0, min(self.base_delay, retry_after / 4 + 0.05))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer


class Call(NamedTuple):
    """One API operation: what to send and what model reads the answer (None: no body)."""

    method: str
    path: str
    model: type[BaseModel] | None
    route: str  # the path template, as the manifest names it
    params: dict[str, Any] | None = None
    body: Any = None
    accept: tuple[int, ...] = ()  # non-2xx statuses whose body is still the model (health's 503)

    @property
    def keyed(self) -> bool:
        """Whether the server guards this route with Idempotency-Key."""
        return (self.method, self.route) in WRITE_ROUTES

    @property
    def repeatable(self) -> bool:
        """Whether sending it twice is harmless without an Idempotency-Key."""
        return self.method in IDEMPOTENT_METHODS or (self.method, self.route) in QUERY_ROUTES

    def content(self) -> bytes | None:
        return None if self.body is None else to_json(self.body)


def call(
    method: str, route: str, model: type[BaseModel] | None, *, params: Mapping[str, Any] | None = None,
    body: Any = None, path_args: Mapping[str, str] | None = None, accept: tuple[int, ...] = (),
) -> Call:  # fmt: skip
    path = route
    for name, value in (path_args or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    kept = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
    return Call(method, path, model, route, kept or None, body, accept)


def _query_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return to_json(value).decode()
    return value


def fields(**given: Any) -> dict[str, Any]:
    """A request body of the given fields, leaving out those not given (None)."""
    return {k: _jsonable(v) for k, v in given.items() if v is not None}


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_dict(value: Any) -> Any:
    """A mapping or a pydantic model (e.g. schemas.MemoryCreate) as the JSON object to send."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    return dict(value)


@dataclass(frozen=True)
class Config:
    base_url: str
    headers: dict[str, str]
    timeout: float
    retry: RetryPolicy


def configure(base_url: str | None, api_key: str | None, *, timeout: float, max_retries: int,
              tenant: str | None, headers: Mapping[str, str] | None, retry: RetryPolicy | None) -> Config:  # fmt: skip
    url = (base_url or os.environ.get("CONTINUUM_URL") or DEFAULT_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
    key = api_key if api_key is not None else os.environ.get("CONTINUUM_API_KEY")
    sent = {"User-Agent": f"continuum-python/{__version__}", "Accept": "application/json", **(headers or {})}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    if tenant:
        sent["X-Continuum-Tenant"] = tenant
    return Config(url, sent, timeout, retry or RetryPolicy(max_retries=max_retries))


def error_code(body: bytes) -> str | None:
    found = envelope(body)
    return str(found.get("code")) if found is not None else None


UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # the request never left
DROP_KEY = -1.0  # `after_answer`: resend at once without Idempotency-Key


def after_answer(policy: RetryPolicy, attempt: int, call_: Call, status: int, headers: Mapping[str, str],
                 body: bytes, keyed: bool) -> float | None:  # fmt: skip
    """What to do with an answer: None (it is final), DROP_KEY, or seconds to wait before retrying."""
    if status in call_.accept:
        return None
    if keyed and status == 422 and error_code(body) == "idempotency_unsupported":
        # This deployment keeps no idempotency records: send plainly from now on, and
        # repeat such writes only when the request surely never arrived.
        return DROP_KEY
    in_progress = status == 409 and keyed and error_code(body) == "conflict"
    if status not in RETRY_STATUSES and not in_progress:
        return None
    return policy.delay(attempt, parse_retry_after(headers.get("retry-after")))


def after_failure(policy: RetryPolicy, attempt: int, call_: Call, error: httpx.TransportError, keyed: bool,
                  base_url: str) -> float:  # fmt: skip
    """Seconds to wait before retrying after no answer came, or the ConnectionError to raise."""
    safe = isinstance(error, UNSENT) or call_.repeatable or keyed
    wait = policy.delay(attempt, None) if safe else None
    if wait is None:
        detail = f"{call_.method} {base_url}{call_.path}: {type(error).__name__}: {error}"
        raise ConnectionError(0, "connection_error", detail) from error
    return wait


def read(call_: Call, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """The answer's model, or the error it carries."""
    if 200 <= status < 300 or status in call_.accept:
        if call_.model is None:
            return None
        try:
            return call_.model.model_validate_json(body)
        except ValidationError as exc:  # not this API's answer (another service, another version)
            first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
            where = ".".join(str(p) for p in first["loc"]) or "body"
            message = f"the answer is not a {call_.model.__name__}: {where}: {first['msg']}"
            raise ContinuumError(status, "unexpected_response", message, headers.get("x-request-id")) from None
    raise failure(status, headers, body)


def failure(status: int, headers: Mapping[str, str], body: bytes) -> ContinuumError:
    return error_from_response(status, body, headers.get("x-request-id"), parse_retry_after(headers.get("retry-after")))
