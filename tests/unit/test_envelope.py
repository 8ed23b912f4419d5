"""api/envelope.py: the one error envelope, as the app, the Lambda handler and a Worker that
could not start all answer it."""

from __future__ import annotations

import json

import httpx

from continuum.api.envelope import ErrorApp, error_body, error_headers, error_json


def test_body_shape_with_and_without_details():
    assert error_body("not_found", "no memory") == {"error": {"code": "not_found", "message": "no memory"}}
    detailed = error_body("invalid_input", "bad", [{"field": "content", "message": "required"}])
    assert detailed["error"]["details"] == [{"field": "content", "message": "required"}]
    assert json.loads(error_json("misconfigured", "x")) == {"error": {"code": "misconfigured", "message": "x"}}


def test_headers_carry_length_and_retry_after():
    body = error_json("service_unavailable", "later")
    headers = dict(error_headers(body, retry_after=5))
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == str(len(body)).encode()
    assert headers[b"retry-after"] == b"5"
    assert b"retry-after" not in dict(error_headers(body))


async def test_error_app_answers_every_request_and_completes_its_lifespan():
    app = ErrorApp(500, "misconfigured", "CONTINUUM_CACHE_TTL is not a number")
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "lifespan.startup"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
        response = await client.post("/v1/learn", json={})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "misconfigured", "message": "CONTINUUM_CACHE_TTL is not a number"}}
