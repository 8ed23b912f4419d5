"""Powertools Logger for Lambda: JSON lines with the Lambda request id, cold start, the API
request id and the tenant, for every `continuum.*` log record."""

from __future__ import annotations

import logging
from typing import Any

from continuum.observability.logging import request_id_var, tenant_id_var

SERVICE = "continuum"


class _RequestContext(logging.Filter):
    """Adds the API request id and tenant (context variables set per request) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        if getattr(record, "tenant_id", None) is None:
            record.tenant_id = tenant_id_var.get()
        return True


def setup_logger(level: str) -> Any:
    """The Powertools Logger, also handling the core's `continuum` stdlib loggers."""
    from aws_lambda_powertools import Logger

    logger = Logger(service=SERVICE, level=level, logger_handler=None)
    handler = logger.registered_handler
    handler.addFilter(_RequestContext())
    core = logging.getLogger("continuum")
    core.handlers[:] = [handler]
    core.setLevel(level)
    core.propagate = False
    return logger
