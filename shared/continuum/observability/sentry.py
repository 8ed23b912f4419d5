"""Error reporting to Sentry when SENTRY_DSN is set (optional `sentry-sdk`).

Credentials must never leave the process: stack-frame locals (which hold the ASGI
scope and its X-API-Key header) are not captured, and every event is scrubbed of
the configured secrets and of credential-looking headers before it is sent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from typing import Any

from continuum import __version__
from continuum.settings import Settings

log = logging.getLogger("continuum.sentry")

REDACTED = "[redacted]"
_CREDENTIAL_HEADERS = {"authorization", "x-api-key", "cookie", "idempotency-key", "x-continuum-tenant"}
_API_KEY = re.compile(r"ck_[A-Za-z0-9_-]{20,}")


def _secrets(settings: Settings) -> list[str]:
    values = [getattr(settings, f.name) for f in fields(settings) if f.metadata.get("secret")]
    return [v for v in values if isinstance(v, str) and len(v) >= 6]


def make_scrubber(settings: Settings) -> Any:
    secrets = _secrets(settings)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, REDACTED)
            return _API_KEY.sub(REDACTED, value)
        if isinstance(value, bytes):
            return scrub(value.decode("utf-8", "replace")).encode("utf-8")
        if isinstance(value, dict):
            return {k: REDACTED if str(k).lower() in _CREDENTIAL_HEADERS else scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            if len(value) == 2 and isinstance(value[0], str | bytes):
                name = value[0].decode("latin-1") if isinstance(value[0], bytes) else value[0]
                if name.lower() in _CREDENTIAL_HEADERS:
                    return [value[0], REDACTED]
            return [scrub(v) for v in value]
        return value

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        return scrub(event)

    return before_send


def init_sentry(settings: Settings) -> bool:
    """Start the Sentry SDK if configured; never sends request bodies or credentials."""
    if not settings.sentry_dsn:
        return False
    try:
        import sentry_sdk
    except ImportError:
        log.warning("SENTRY_DSN is set but sentry-sdk is not installed: pip install 'continuum-memory[sentry]'")
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        environment=settings.env,
        release=f"continuum@{__version__}",
        # send_default_pii is left unset: its default is off, and setting it is deprecated.
        include_local_variables=False,
        max_request_body_size="never",
        before_send=make_scrubber(settings),
        before_send_transaction=make_scrubber(settings),
    )
    return True
