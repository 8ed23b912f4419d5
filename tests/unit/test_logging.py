"""Logs are JSON lines carrying the request context."""

from __future__ import annotations

import io
import json
import logging

from continuum.observability.logging import JsonFormatter


def test_log_lines_are_json_with_context():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("continuum.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    from continuum.observability.logging import request_id_var, tenant_id_var

    request_id_var.set("req-1")
    tenant_id_var.set("acme")
    logger.info("recall", extra={"query_time_ms": 3.5, "concepts_found": 2, "instance_id": "bot"})
    entry = json.loads(stream.getvalue())
    assert {k: entry[k] for k in ("level", "message", "request_id", "tenant_id")} == {
        "level": "INFO", "message": "recall", "request_id": "req-1", "tenant_id": "acme",
    }  # fmt: skip
    assert entry["query_time_ms"] == 3.5 and entry["concepts_found"] == 2 and entry["instance_id"] == "bot"
    assert entry["timestamp"].endswith("+00:00")
