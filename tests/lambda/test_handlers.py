"""Every handler invoked in-process, as Lambda does, with real API Gateway REST (v1) and
HTTP API (v2) events, against a real PostgreSQL; secrets from SSM and idempotency records in
DynamoDB (moto_server). Success, auth failure, bad input and idempotent retry."""

from __future__ import annotations

import importlib
import json
import logging
import secrets

import pytest

from tests.support.key_routes import request_for, serving_function, state_changing_routes

from .support import LambdaContext, answer, event

VERSIONS = ("v1", "v2")
TURN = {"user_message": "I decided to deploy Orion on AWS Lambda with PostgreSQL.",
        "ai_response": "Lambda with PostgreSQL through RDS Proxy suits Orion."}  # fmt: skip


def call(group: str, version: str, method: str, path: str, *, key: str | None = None, **kwargs):
    handler = importlib.import_module(f"functions.{group}").handler
    headers = dict(kwargs.pop("headers", {}))
    if key:
        headers["x-api-key"] = key
    context = LambdaContext(f"continuum-test-{group}")
    response = handler(event(version, method, path, headers=headers, **kwargs), context)
    return answer(response)


@pytest.fixture(scope="module")
def tenant(deployment):
    tenant_id = f"t-{secrets.token_hex(5)}"
    status, _, body = call("admin", "v2", "POST", "/v1/keys", key=deployment.admin_key, body={"tenant_id": tenant_id})
    assert status == 201, body
    return tenant_id, body["api_key"]


@pytest.mark.parametrize("version", VERSIONS)
def test_health(deployment, version):
    status, headers, body = call("health", version, "GET", "/v1/health", key=deployment.admin_key)
    assert status == 200, body
    assert body["checks"]["database"] == "ok" and body["details"]["storage"] == "postgres"
    assert headers["x-request-id"]


@pytest.mark.parametrize("version", VERSIONS)
def test_learn_recall_turn_search(deployment, tenant, version):
    tenant_id, key = tenant
    status, _, learned = call("learn", version, "POST", "/v1/learn", key=key, body=TURN)
    assert status == 200, learned
    assert learned["tenant_id"] == tenant_id and len(learned["memory_ids"]) == 2
    status, _, recalled = call("recall", version, "POST", "/v1/recall", key=key,
                               body={"message": "Where does Orion run?"})  # fmt: skip
    assert status == 200, recalled
    assert recalled["memories"] and recalled["memories"][0]["id"] in learned["memory_ids"]
    status, _, turned = call("turn", version, "POST", "/v1/turn", key=key, body={
        "user_message": "The Orion database is called orion_prod.", "ai_response": "Noted.",
        "message": "What is the Orion database called?"})  # fmt: skip
    assert status == 200, turned
    assert any("orion_prod" in m["content"] for m in turned["recall"]["memories"])
    status, _, found = call("search", version, "POST", "/v1/search", key=key, body={"query": "Lambda PostgreSQL"})
    assert status == 200, found
    assert {r["id"] for r in found["results"]} & set(learned["memory_ids"])


@pytest.mark.parametrize("version", VERSIONS)
def test_memories_entities_stats(deployment, tenant, version):
    tenant_id, key = tenant
    content = f"The staging bucket is continuum-{version}-{secrets.token_hex(3)}."
    status, _, stored = call("memories", version, "POST", "/v1/memories", key=key, body={"content": content})
    assert status == 201 and stored["status"] == "stored", stored
    status, _, one = call("memories", version, "GET", f"/v1/memories/{stored['id']}", key=key)
    assert status == 200 and one["content"] == content
    status, _, page = call("memories", version, "GET", "/v1/memories", key=key, query={"limit": "1"})
    assert status == 200 and len(page["memories"]) == 1
    status, _, changed = call("memories", version, "PATCH", f"/v1/memories/{stored['id']}", key=key,
                              body={"metadata": {"checked": True}})  # fmt: skip
    assert status == 200 and changed["metadata"] == {"checked": True}
    status, _, _ = call("memories", version, "DELETE", f"/v1/memories/{stored['id']}", key=key)
    assert status == 204
    pair = {"memories": [{"content": f"batch {version} {n}"} for n in ("one", "two")]}
    status, _, batch = call("memories", version, "POST", "/v1/memories/batch", key=key, body=pair)
    assert status == 200 and [r["status"] for r in batch["results"]] == ["stored", "stored"]
    status, _, entities = call("entities", version, "GET", "/v1/entities", key=key)
    assert status == 200 and any(e["name"] == "Orion" for e in entities["entities"]), entities
    status, _, entity = call("entities", version, "GET", "/v1/entities/orion", key=key)
    assert status == 200 and entity["name"] == "Orion"
    status, _, stats = call("entities", version, "GET", "/v1/stats", key=key)
    assert status == 200 and stats["tenant_id"] == tenant_id and stats["memories"] >= 2


@pytest.mark.parametrize("version", VERSIONS)
def test_admin_tenants_export_import(deployment, version):
    admin = deployment.admin_key
    source = f"exp-{secrets.token_hex(4)}"
    call("learn", version, "POST", "/v1/learn", key=admin, headers={"x-continuum-tenant": source}, body=TURN)
    status, headers, exported = call("admin", version, "GET", "/v1/export", key=admin,
                                     headers={"x-continuum-tenant": source})  # fmt: skip
    assert status == 200 and headers["content-type"].startswith("application/x-ndjson")
    lines = exported.decode().splitlines()
    assert len(lines) > 3 and json.loads(lines[0])["type"] == "header"
    target = f"imp-{secrets.token_hex(4)}"
    ndjson = {"x-continuum-tenant": target, "content-type": "application/x-ndjson"}
    status, _, imported = call("admin", version, "POST", "/v1/import", key=admin, raw_body=exported, headers=ndjson)
    assert status == 200 and imported["tenant_id"] == target and sum(imported["imported"].values()) >= 2, imported
    status, _, tenants = call("admin", version, "GET", "/v1/tenants", key=admin)
    assert status == 200 and {source, target} <= {t["tenant_id"] for t in tenants["tenants"]}
    status, _, erased = call("admin", version, "DELETE", f"/v1/tenants/{target}", key=admin)
    assert status == 200, erased


ROUTES = [("learn", "POST", "/v1/learn"), ("recall", "POST", "/v1/recall"), ("turn", "POST", "/v1/turn"),
          ("memories", "GET", "/v1/memories"), ("search", "POST", "/v1/search"),
          ("entities", "GET", "/v1/stats"), ("admin", "GET", "/v1/tenants")]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("group", "method", "path"), ROUTES)
def test_auth_failures(deployment, tenant, version, group, method, path):
    body = {} if method == "POST" else None
    status, _, missing = call(group, version, method, path, body=body)
    assert status == 401 and missing["error"]["code"] == "unauthorized"
    status, _, wrong = call(group, version, method, path, key="ck_" + "x" * 40, body=body)
    assert status == 401 and wrong["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_read_key_reads_through_every_function_and_changes_nothing(deployment, version):
    admin = deployment.admin_key
    tenant_id = f"t-{secrets.token_hex(5)}"
    status, _, writer = call("admin", version, "POST", "/v1/keys", key=admin, body={"tenant_id": tenant_id})
    assert status == 201, writer
    status, _, stored = call("memories", version, "POST", "/v1/memories", key=writer["api_key"],
                             body={"content": "Orion ships on Friday"})  # fmt: skip
    assert status == 201, stored
    status, _, reader = call("admin", version, "POST", "/v1/keys", key=admin,
                             body={"tenant_id": tenant_id, "scopes": ["read"]})  # fmt: skip
    assert status == 201 and reader["scopes"] == ["read"], reader
    key = reader["api_key"]
    for group, method, path, body in (
        ("recall", "POST", "/v1/recall", {"message": "Orion"}),
        ("search", "POST", "/v1/search", {"query": "Orion"}),
        ("memories", "GET", f"/v1/memories/{stored['id']}", None),
        ("entities", "GET", "/v1/stats", None),
        ("admin", "GET", "/v1/keys", None),
    ):
        status, _, answered = call(group, version, method, path, key=key, body=body)
        assert status == 200, (path, answered)
    as_tenant = {"X-Continuum-Tenant": tenant_id}
    status, _, exported = call("admin", version, "GET", "/v1/export", key=admin, headers=as_tenant)
    assert status == 200
    for route in state_changing_routes(on_lambda=True):
        request = request_for(route, tenant_id, stored["id"], writer["id"], exported)
        status, _, refused = call(
            serving_function(route), version, request["method"], request["url"], key=key,
            body=request.get("json"), raw_body=request.get("content"), headers=request.get("headers", {}),
        )  # fmt: skip
        assert status == 403 and refused["error"]["code"] == "forbidden", (route, status, refused)
    status, _, stats = call("entities", version, "GET", "/v1/stats", key=key)
    assert status == 200 and stats["memories"] == 1 and stats["messages"] == 0, stats
    status, _, keys = call("admin", version, "GET", "/v1/keys", key=admin, query={"tenant_id": tenant_id})
    assert status == 200 and [k["status"] for k in keys["keys"]] == ["active", "active"], keys


@pytest.mark.parametrize("version", VERSIONS)
def test_tenant_key_cannot_use_admin_routes(deployment, tenant, version):
    status, _, body = call("admin", version, "GET", "/v1/tenants", key=tenant[1])
    assert status == 403 and body["error"]["code"] == "forbidden"


BAD = [("learn", "POST", "/v1/learn", {"ai_response": "no user message"}, "user_message"),
       ("recall", "POST", "/v1/recall", {"message": "x", "limit": 0}, "limit"),
       ("turn", "POST", "/v1/turn", {"user_message": ["not", "text"], "ai_response": "x"}, "user_message"),
       ("memories", "POST", "/v1/memories", {"content": "   "}, "content"),
       ("search", "POST", "/v1/search", {"query": "x", "mode": "psychic"}, "mode"),
       ("admin", "POST", "/v1/keys", {"tenant_id": "bad tenant!"}, "tenant_id")]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("group", "method", "path", "body", "field"), BAD)
def test_bad_input_is_a_clear_4xx(deployment, tenant, version, group, method, path, body, field):
    key = deployment.admin_key if group == "admin" else tenant[1]
    status, _, answer_ = call(group, version, method, path, key=key, body=body)
    assert status == 422, answer_
    assert field in answer_["error"]["message"]


@pytest.mark.parametrize("version", VERSIONS)
def test_malformed_json_and_unknown_route(deployment, tenant, version):
    status, _, body = call("learn", version, "POST", "/v1/learn", key=tenant[1], raw_body=b'{"user_message": ')
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, _, body = call("learn", version, "GET", "/v1/recall", key=tenant[1])
    assert status in (404, 405) and "error" in body


WRITES = [("learn", "/v1/learn", TURN), ("memories", "/v1/memories", {"content": "idempotent memory"}),
          ("memories", "/v1/memories/batch", {"memories": [{"content": "idem a"}, {"content": "idem b"}]}),
          ("turn", "/v1/turn", {"user_message": "About Vega.", "ai_response": "Ok.", "message": "Vega?"})]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("group", "path", "body"), WRITES)
def test_idempotent_retry_returns_first_result_and_stores_once(deployment, version, group, path, body):
    admin = deployment.admin_key
    tenant_id = f"idem-{secrets.token_hex(4)}"
    headers = {"x-continuum-tenant": tenant_id, "idempotency-key": secrets.token_hex(8)}
    first = call(group, version, "POST", path, key=admin, headers=headers, body=body)
    assert first[0] in (200, 201), first
    before = call("entities", version, "GET", "/v1/stats", key=admin, headers=headers)[2]
    retry = call(group, version, "POST", path, key=admin, headers=headers, body=body)
    assert retry[0] == first[0] and retry[2] == first[2]
    assert retry[1]["idempotent-replayed"] == "true"
    after = call("entities", version, "GET", "/v1/stats", key=admin, headers=headers)[2]
    assert after == before and after["memories"] + after["messages"] > 0
    other = call(group, version, "POST", path, key=admin, headers=headers, body={**body, "metadata": {"v": 2}})
    assert other[0] == 422 and other[2]["error"]["code"] == "idempotency_key_reused"


def test_idempotency_key_is_scoped_by_tenant(deployment):
    key = secrets.token_hex(8)
    answers = []
    for tenant_id in (f"a-{key}", f"b-{key}"):
        headers = {"x-continuum-tenant": tenant_id, "idempotency-key": key}
        answers.append(call("memories", "v2", "POST", "/v1/memories", key=deployment.admin_key, headers=headers,
                            body={"content": "same key, two tenants"}))  # fmt: skip
    assert [a[0] for a in answers] == [201, 201]
    assert answers[0][2]["tenant_id"] != answers[1][2]["tenant_id"]
    assert "idempotent-replayed" not in answers[1][1]


def test_tracing_wraps_the_handler_when_enabled(deployment):
    from continuum.aws.handler import LambdaHandler

    handler = LambdaHandler("health", environ={**deployment.env, "CONTINUUM_TRACING": "true"})
    admin = {"x-api-key": deployment.admin_key}
    response = handler(event("v2", "GET", "/v1/health", headers=admin), LambdaContext("continuum-test-health"))
    status, _, body = answer(response)
    assert status == 200 and body["checks"]["database"] == "ok"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {getattr(record, 'error', '')}")


@pytest.fixture
def lambda_log():
    records = _Records()
    logger = logging.getLogger("continuum.lambda")
    logger.addHandler(records)
    yield records.lines
    logger.removeHandler(records)


def test_feature_missing_from_the_package_is_a_clear_configuration_error(deployment, monkeypatch, lambda_log):
    from continuum.aws import handler as wiring

    monkeypatch.setattr(wiring, "_PACKAGED", (("tracing", "no_such_module_here", "CONTINUUM_TRACING=true", "x"),))
    handler = wiring.LambdaHandler("health", environ={**deployment.env, "CONTINUUM_TRACING": "true"})
    status, _, body = answer(handler(event("v1", "GET", "/v1/health"), LambdaContext("continuum-test-health")))
    assert status == 500 and body["error"]["code"] == "misconfigured"
    assert deployment.admin_key not in json.dumps(body)
    assert any("CONTINUUM_TRACING=true needs no_such_module_here" in line for line in lambda_log), lambda_log


def test_bad_setting_is_a_500_naming_nothing_secret(deployment, lambda_log):
    from continuum.aws.handler import LambdaHandler

    handler = LambdaHandler("health", environ={**deployment.env, "CONTINUUM_CACHE_TTL": "soon"})
    status, _, body = answer(handler(event("v2", "GET", "/v1/health"), LambdaContext("continuum-test-health")))
    assert status == 500 and body["error"]["code"] == "misconfigured"
    assert any("CONTINUUM_CACHE_TTL" in line for line in lambda_log), lambda_log
    assert not any(deployment.admin_key in line for line in lambda_log)


def test_rotated_secret_is_picked_up_by_a_warm_instance(deployment):
    from continuum.aws.handler import LambdaHandler

    from .support import boto3_client

    path = f"/continuum/rot{secrets.token_hex(3)}"
    ssm = boto3_client("ssm", deployment.moto)
    ssm.put_parameter(Name=f"{path}/POSTGRES_URL", Value=deployment.postgres_url, Type="SecureString")
    first, second = "rot-first-" + secrets.token_hex(8), "rot-second-" + secrets.token_hex(8)
    ssm.put_parameter(Name=f"{path}/CONTINUUM_API_KEY", Value=first, Type="SecureString")
    handler = LambdaHandler("admin", environ={**deployment.env, "CONTINUUM_SECRETS_PATH": path,
                                              "CONTINUUM_SECRETS_MAX_AGE": "0"})  # fmt: skip

    def tenants(key: str) -> int:
        headers = {"x-api-key": key}
        return answer(handler(event("v2", "GET", "/v1/tenants", headers=headers), LambdaContext()))[0]

    assert tenants(first) == 200
    ssm.put_parameter(Name=f"{path}/CONTINUUM_API_KEY", Value=second, Type="SecureString", Overwrite=True)
    assert tenants(first) == 401
    assert tenants(second) == 200


def test_warm_instance_keeps_serving_when_the_secrets_store_fails(deployment, monkeypatch):
    from continuum.aws.handler import LambdaHandler

    handler = LambdaHandler("health", environ={**deployment.env, "CONTINUUM_SECRETS_MAX_AGE": "0"})
    assert answer(handler(event("v2", "GET", "/v1/health"), LambdaContext()))[0] == 200
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # SSM unreachable from now on
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    handler._loader._provider = None  # a fresh client picks the broken endpoint up
    assert answer(handler(event("v2", "GET", "/v1/health"), LambdaContext()))[0] == 200
    cold = LambdaHandler("health", environ={**deployment.env, "CONTINUUM_SECRETS_MAX_AGE": "0"})
    status, headers, body = answer(cold(event("v2", "GET", "/v1/health"), LambdaContext()))
    assert status == 503 and headers["retry-after"] == "5" and body["error"]["code"] == "service_unavailable"


def test_without_an_idempotency_table_keyed_writes_are_refused_clearly(deployment, tenant):
    from continuum.aws.handler import LambdaHandler

    environ = {k: v for k, v in deployment.env.items() if k != "CONTINUUM_IDEMPOTENCY_TABLE"}
    handler = LambdaHandler("learn", environ=environ)
    headers = {"x-api-key": tenant[1], "idempotency-key": "no-table-1"}
    response = handler(event("v2", "POST", "/v1/learn", headers=headers, body=TURN), LambdaContext("no-table"))
    status, _, body = answer(response)
    assert status == 422, body
    assert body["error"]["code"] == "idempotency_unsupported"
    assert "CONTINUUM_IDEMPOTENCY_TABLE" in body["error"]["message"]
