"""Real API Gateway events (REST API v1 and HTTP API v2 JSON), a Lambda context, and moto_server."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support.servers import free_port

EVENTS = Path(__file__).parent / "events"
V2 = json.loads((EVENTS / "http-api-v2.json").read_text())
V1 = json.loads((EVENTS / "rest-api-v1.json").read_text())
REGION = "eu-west-1"


def event(version: str, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None,
          query: dict[str, str] | None = None, raw_body: bytes | None = None) -> dict[str, Any]:  # fmt: skip
    """An API Gateway event as the service sends it, for `version` "v1" (REST) or "v2" (HTTP API)."""
    payload = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
    sent = {"content-type": "application/json"} if payload else {}
    sent.update({k.lower(): v for k, v in (headers or {}).items()})
    binary = payload and not _is_text(payload)
    text = base64.b64encode(payload).decode() if binary else payload.decode()
    request_id = str(uuid.uuid4())
    if version == "v2":
        ev = copy.deepcopy(V2)
        ev["rawPath"] = path
        ev["rawQueryString"] = urlencode(query or {})
        ev["queryStringParameters"] = dict(query) if query else None
        ev["headers"].update(sent)
        ev["headers"]["content-length"] = str(len(payload))
        ev["requestContext"]["http"].update(method=method, path=path)
        ev["requestContext"].update(routeKey=f"{method} {path}", requestId=request_id)
        ev["routeKey"] = f"{method} {path}"
        ev["body"] = text or None
        ev["isBase64Encoded"] = bool(binary)
        return ev
    ev = copy.deepcopy(V1)
    titled = {"-".join(p.capitalize() for p in k.split("-")): v for k, v in sent.items()}
    ev.update(path=path, httpMethod=method, body=text or None, isBase64Encoded=bool(binary))
    ev["headers"].update(titled)
    ev["multiValueHeaders"].update({k: [v] for k, v in titled.items()})
    ev["queryStringParameters"] = dict(query) if query else None
    ev["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    ev["pathParameters"] = {"proxy": path.lstrip("/")}
    ev["requestContext"].update(httpMethod=method, path=f"/dev{path}", requestId=request_id)
    return ev


def _is_text(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class LambdaContext:
    """The attributes of the context object the Lambda Python runtime passes to a handler."""

    function_name: str = "continuum-dev-learn"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/continuum-dev-learn"
    log_stream_name: str = "2026/11/26/[$LATEST]0123456789abcdef"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def answer(response: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Status, lower-cased headers and decoded JSON body of a handler's API Gateway response."""
    raw = response.get("body") or ""
    data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    is_json = headers.get("content-type", "").startswith("application/json") and data
    return response["statusCode"], headers, json.loads(data) if is_json else data


class MotoServer:
    """moto_server on a free local port: real HTTP for SSM, Secrets Manager, DynamoDB and S3."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        }  # fmt: skip

    def start(self) -> MotoServer:
        binary = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def boto3_client(service: str, moto: MotoServer) -> Any:
    import boto3

    env = moto.env()
    return boto3.client(
        service, endpoint_url=moto.url, region_name=REGION,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip


def create_idempotency_table(moto: MotoServer, name: str) -> None:
    boto3_client("dynamodb", moto).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )  # fmt: skip


def os_environ_without_continuum() -> dict[str, str]:
    prefixes = ("CONTINUUM_", "POSTGRES_", "REDIS_", "UPSTASH_", "AWS_", "POWERTOOLS_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
