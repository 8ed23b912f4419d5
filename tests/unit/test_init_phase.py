"""The garbage collector pause during Lambda INIT: on where Lambda runs, off elsewhere, and
over after the first request (in a fresh interpreter each: the pause is process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FIRST_REQUEST = """
import gc, json
import functions.health as function
paused = not gc.isenabled()
class Context:
    function_name = "health"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:health"
response = function.handler(json.loads(EVENT), Context())
print(json.dumps({"paused_during_init": paused, "status": response["statusCode"],
                  "enabled_after": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""

EVENT = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/v1/health", "rawQueryString": "",
    "headers": {}, "body": None, "isBase64Encoded": False,
    "requestContext": {"http": {"method": "GET", "path": "/v1/health", "protocol": "HTTP/1.1",
                                "sourceIp": "203.0.113.1", "userAgent": "test"},
                       "requestId": "r", "stage": "$default"},
}  # fmt: skip


def _first_request(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTINUUM_", "AWS_LAMBDA"))}
    env.update(CONTINUUM_DB_PATH=str(tmp_path / "memory.db"), CONTINUUM_LOG_LEVEL="WARNING", **extra)
    code = f"EVENT = {json.dumps(json.dumps(EVENT))}\n{FIRST_REQUEST}"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_lambda_init_runs_without_the_collector_and_the_first_request_turns_it_back_on(tmp_path: Path) -> None:
    seen = _first_request(tmp_path, AWS_LAMBDA_FUNCTION_NAME="health")
    assert seen["status"] == 200
    assert seen["paused_during_init"] is True
    assert seen["enabled_after"] is True
    assert seen["frozen"] > 10_000  # what INIT built is out of later collections' way


def test_outside_lambda_the_collector_is_left_alone(tmp_path: Path) -> None:
    seen = _first_request(tmp_path)
    assert seen["status"] == 200
    assert seen["paused_during_init"] is False
    assert seen["enabled_after"] is True
    assert seen["frozen"] == 0
