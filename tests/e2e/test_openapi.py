"""The OpenAPI document describes the API: schemathesis against /openapi.json finds nothing.

Every check (status codes, content types, headers and bodies as documented, schema-valid
requests accepted, schema-violating ones refused, 405s with `Allow`, auth enforced) on a
real `continuum serve` with API keys required, on SQLite and on PostgreSQL + Redis, once
with a tenant key and once with the admin key. Seeded and bounded: the same requests on
every run. `tests/e2e/schemathesis_hooks.py` adapts generated requests to the rules JSON
Schema cannot state; `tests/e2e/schemathesis.toml` holds the settings.

The fast tests below pin what the document promises about methods: HEAD like GET without a
body, and a 405 whose `Allow` lists every method of the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from continuum.api.manifest import required_scope
from tests.support.servers import TARGETS, RunningServer, selected_targets

HERE = Path(__file__).resolve().parent
SEED = 20261127
EXAMPLES = 3  # per operation and phase (fuzzing, stateful); the coverage phase is exhaustive by design
SCHEMATHESIS_TARGETS = ("sqlite", "postgres")


@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.slow) for name in SCHEMATHESIS_TARGETS])
def secured(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    selected_targets()  # registers the targets defined beside tests/support/servers.py
    running = TARGETS[request.param]().start(require_api_key=True)
    yield running
    running.stop()


def _schemathesis(server: RunningServer, key: str, credential: str, workdir: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
        "CONTINUUM_OPENAPI_CREDENTIAL": credential,
    }
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{server.url}/openapi.json", "--header", f"X-API-Key: {key}",
        "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--workers", "1", "--no-shrink",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(run: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        output, _ = run.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        run.kill()
        output, _ = run.communicate()
    # Generated bodies can be megabytes: keep the head of each line.
    return run.returncode, "\n".join(line[:400] for line in output.splitlines())


@pytest.mark.slow
def test_schemathesis_finds_no_failure(secured: RunningServer) -> None:
    """With a tenant key and with the admin key, side by side (two processes: CI's wall time)."""
    _, client = secured.new_tenant()
    with client:
        keys = {"tenant": client.headers["X-API-Key"], "admin": secured.admin_key or ""}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="continuum-schemathesis-") as workdir:
        runs = {credential: _schemathesis(secured, key, credential, workdir) for credential, key in keys.items()}
        results = {credential: _finish(run) for credential, run in runs.items()}
    print(f"schemathesis on {secured.target}, tenant and admin keys: {time.monotonic() - started:.1f} s")
    for credential, (status, output) in results.items():
        assert status == 0, f"with the {credential} key:\n{output[-40_000:]}"
        assert "passed" in output.splitlines()[-5] or " 0 failures" in output, output[-3000:]


# ---- what the document promises, checked fast on every e2e target ---------------------------


def test_head_answers_like_get_without_a_body(tenant) -> None:
    _, client = tenant
    for path in ("/v1/stats", "/v1/memories", "/v1/entities"):
        got = client.get(path)
        head = client.head(path)
        assert head.status_code == got.status_code == 200, (path, head.status_code)
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert int(head.headers["content-length"]) == len(got.content)


def test_a_405_lists_every_method_of_the_path(server) -> None:
    with server.admin() as admin:
        for method, path, allow in (
            ("OPTIONS", "/v1/memories/01M8EMVN0K5NZQ6M88BW3EPB6D", "DELETE, GET, HEAD, PATCH"),
            ("PUT", "/v1/memories/01M8EMVN0K5NZQ6M88BW3EPB6D", "DELETE, GET, HEAD, PATCH"),
            ("PUT", "/v1/memories", "GET, HEAD, POST"),
            ("DELETE", "/v1/learn", "POST"),
        ):
            response = admin.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == allow, (method, path)
            assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("value", ["0.5", "0", "1700000000", "2026-01-31", "yesterday", "2026-01-31T25:00:00Z"])
def test_a_query_date_is_an_rfc3339_string(tenant, value: str) -> None:
    _, client = tenant
    response = client.get("/v1/memories", params={"until": value})
    assert response.status_code == 422, (value, response.text)
    assert response.json()["error"]["message"].startswith("query.until:")


def test_rfc3339_query_dates_are_accepted(tenant) -> None:
    _, client = tenant
    for value in ("2026-01-31T12:00:00Z", "2026-01-31T12:00:00.123456+02:00", "2026-01-31T12:00:00"):
        assert client.get("/v1/memories", params={"since": value}).status_code == 200, value


def test_a_cursor_is_a_memory_id(tenant) -> None:
    _, client = tenant
    response = client.get("/v1/memories", params={"cursor": "not-a-cursor"})
    assert response.status_code == 422 and response.json()["error"]["message"].startswith("query.cursor:")


def test_the_document_describes_every_answer(server) -> None:
    with server.client() as anonymous:
        document = anonymous.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert {"ApiKey", "Bearer"} <= set(document["components"]["securitySchemes"])
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            names = {p["name"].lower() for p in operation.get("parameters", [])}
            assert not names & {"x-api-key", "authorization"}, f"{where}: credentials are security schemes"
            assert "HTTPValidationError" not in str(responses), where
            for status, response in responses.items():
                if status.startswith(("4", "5")) and path != "/v1/health":
                    assert response["content"]["application/json"]["schema"] == error_ref, (where, status)
            if required_scope(method.upper(), path) == "signed":  # a signature (a peer's, Stripe's), no API key
                assert operation.get("security", []) == [] and {"400", "401"} & set(responses), where
            elif path not in ("/v1/health", "/v1/federation/node"):  # public: a node's key is public
                assert {"401", "403", "422", "429", "503"} <= set(responses), where
                assert operation["security"] == [{"ApiKey": []}, {"Bearer": []}], where
            if operation.get("requestBody", {}).get("content", {}).get("application/json"):
                assert {"400", "413"} <= set(responses), where
            if "{" in path:
                assert "404" in responses, where
    create = document["paths"]["/v1/memories"]["post"]["responses"]
    assert {"200", "201"} <= set(create)  # a duplicate answers 200
    assert "409" in document["paths"]["/v1/memories/{memory_id}"]["patch"]["responses"]
    memory_create = schemas["MemoryCreate"]["properties"]
    assert memory_create["content"]["pattern"]  # not blank, no NUL
    listing = {p["name"]: p for p in document["paths"]["/v1/memories"]["get"]["parameters"]}
    assert listing["cursor"]["schema"]["anyOf"][0]["pattern"] == "^[0-9A-HJKMNP-TV-Z]{26}$"
