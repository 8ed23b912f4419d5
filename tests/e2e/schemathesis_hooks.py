"""Schemathesis hooks for tests/e2e/test_openapi.py (loaded through SCHEMATHESIS_HOOKS).

Each adapts a generated request to a rule the document states in words because JSON Schema
cannot say it; none hides an answer the API gives to a request it was sent as generated.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

# /v1/import takes JSON Lines (an export); it is sent as the text it is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

VALID_IDEMPOTENCY_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")
TENANT_RUN = os.environ.get("CONTINUUM_OPENAPI_CREDENTIAL") == "tenant"


def _future_expiry(body: Any) -> None:
    """`expires_at` must lie in the future ("must be in the future" in the document): a
    generated date is moved to tomorrow, keeping its presence and type."""
    items = body.get("memories") if isinstance(body, dict) and isinstance(body.get("memories"), list) else [body]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("expires_at"), str):
            try:
                datetime.fromisoformat(item["expires_at"])
            except ValueError:
                continue  # not a date: the API must refuse it, so it is sent as generated
            item["expires_at"] = tomorrow


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers if case.headers is not None else {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and VALID_IDEMPOTENCY_KEY.fullmatch(key):
        # One key per request: reusing a key for another body is a 422 by design
        # (tests/e2e/test_idempotency.py), which generated keys like "0" would hit at random.
        headers["Idempotency-Key"] = uuid.uuid4().hex
    if TENANT_RUN:
        # X-Continuum-Tenant is read for the admin key only; a tenant key's is ignored.
        for name in [name for name in headers if name.lower() == "x-continuum-tenant"]:
            del headers[name]
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _future_expiry(case.body)
