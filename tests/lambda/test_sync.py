"""Real-time sync on Lambda: the health function answers GET /v1/sync with a clear 501 naming
the runtimes that serve it (API Gateway HTTP APIs carry no WebSockets)."""

from __future__ import annotations

import pytest

from .test_handlers import VERSIONS, call


@pytest.mark.parametrize("version", VERSIONS)
def test_lambda_says_where_real_time_sync_is_served(deployment, version):
    status, _, body = call("health", version, "GET", "/v1/sync", key=deployment.admin_key)
    assert status == 501, body
    assert body["error"]["code"] == "not_implemented"
    assert "served by the server runtimes" in body["error"]["message"]
