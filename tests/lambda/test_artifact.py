"""The deployable artifact, built offline once per run: `npx osls package` for arm64 (the
deployed architecture) and x86_64 (this host's, to run it), cfn-lint on the generated
CloudFormation, the size limit, and a smoke test that unzips the package and, in an isolated
Python 3.12 with only boto3 beside it (as on Lambda), imports every handler and serves one
request each against the real PostgreSQL, with secrets from SSM and idempotency in DynamoDB."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from infra.aws import artifact

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop

MAX_ZIP_BYTES = 10_000_000


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> dict[str, Path]:
    """Built once per run, into this run's own directories."""
    return {arch: artifact.package(arch, out=tmp_path_factory.mktemp(f"sls-{arch}")) for arch in ("arm64", "x86_64")}


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_package_builds_small_and_lean(builds, arch):
    zip_path = builds[arch] / "continuum.zip"
    assert zip_path.stat().st_size < MAX_ZIP_BYTES, zip_path.stat().st_size
    names = zipfile.ZipFile(zip_path).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {"functions", "continuum", "fastapi", "mangum", "pydantic_core", "psycopg", "aws_lambda_powertools"} <= tops
    assert not tops & {"boto3", "botocore", "tests", "node_modules", "bench", "shared"}, tops & {"boto3", "tests"}
    # bytecode only (sources compiled where they were; nothing left to compile on Lambda)
    assert "continuum/__init__.pyc" in names and "continuum/api/app.pyc" in names
    assert not [n for n in names if n.startswith("continuum/") and (n.endswith(".py") or "__pycache__" in n)]
    machine = "aarch64" if arch == "arm64" else "x86_64"
    assert any(n.startswith("pydantic_core/") and n.endswith(f"{machine}-linux-gnu.so") for n in names)


def test_cfn_lint_passes_on_generated_template(builds):
    template = builds["arm64"] / "cloudformation-template-update-stack.json"
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(lint), "--non-zero-exit-code", "error", str(template)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    resources = json.loads(template.read_text())["Resources"]
    assert resources["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    from continuum.api.manifest import LAMBDA_CONSUMERS, LAMBDA_FUNCTIONS, LAMBDA_TASKS

    assert len(functions) == len(LAMBDA_FUNCTIONS) + len(LAMBDA_TASKS) + len(LAMBDA_CONSUMERS)
    for name in functions:
        props = resources[name]["Properties"]
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
    statements = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any(a.endswith("*") for a in actions), actions


SMOKE = """
import json, os
from importlib import import_module
import boto3  # the runtime's copy
results = {}
class Context:
    function_name = "smoke"; memory_limit_in_mb = 512; aws_request_id = "smoke-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:smoke"
def ev(method, path, body=None, headers=None):
    h = {"content-type": "application/json", "x-api-key": os.environ["SMOKE_ADMIN_KEY"], **(headers or {})}
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": h,
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10", "userAgent": "smoke"}, "requestId": "r", "stage": "$default",
            "accountId": "123456789012", "apiId": "a", "domainName": "d", "time": "t", "timeEpoch": 0},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}
calls = {
    "health": ev("GET", "/v1/health"),
    "learn": ev("POST", "/v1/learn", {"user_message": "Smoke test of Orion on Lambda.", "ai_response": "ok"}),
    "recall": ev("POST", "/v1/recall", {"message": "Orion"}),
    "turn": ev("POST", "/v1/turn", {"user_message": "Orion smoke turn.", "ai_response": "ok"}),
    "memories": ev("POST", "/v1/memories", {"content": "smoke memory"}, {"idempotency-key": "smoke-key"}),
    "search": ev("POST", "/v1/search", {"query": "Orion"}),
    "entities": ev("GET", "/v1/stats"),
    "admin": ev("GET", "/v1/tenants"),
    "mcp": ev("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"host": "localhost"}),
}
for name, event in calls.items():
    module = import_module("functions." + name)
    response = module.handler(event, Context())
    results[name] = [response["statusCode"], module.__file__]
import sys
results["_mcp_sdk"] = sorted(m for m in sys.modules if m.split(".")[0] in ("mcp", "mcp_types", "jsonschema"))
results["memories-retry"] = import_module("functions.memories").handler(calls["memories"], Context())["headers"]
import pydantic, fastapi
results["_origins"] = [pydantic.__file__, fastapi.__file__, boto3.__file__]
print("SMOKE " + json.dumps(results))
"""


def test_artifact_smoke_imports_every_handler_and_serves(builds, deployment, tmp_path):
    python = artifact.lambda_python()
    code = artifact.unzip(builds["x86_64"] / "continuum.zip", tmp_path / "task")
    runtime = artifact.runtime_boto3(python)
    env = {**deployment.env, "SMOKE_ADMIN_KEY": deployment.admin_key, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(artifact.isolated_command(python, code, runtime, SMOKE), env=env, cwd=code,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-6000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("SMOKE "))
    results = json.loads(line[len("SMOKE ") :])
    expected = {"health": 200, "learn": 200, "recall": 200, "turn": 200, "memories": 201, "search": 200,
                "entities": 200, "admin": 200, "mcp": 200}  # fmt: skip
    assert {name: results[name][0] for name in expected} == expected, results
    assert all(results[name][1].startswith(str(code)) for name in expected)
    assert results["memories-retry"]["idempotent-replayed"] == "true"
    assert results["_mcp_sdk"] == []  # /mcp is served without the MCP SDK (left out of the zip)
    pydantic_file, fastapi_file, boto3_file = results["_origins"]
    assert pydantic_file.startswith(str(code)) and fastapi_file.startswith(str(code))
    assert boto3_file.startswith(str(runtime))


def test_cfn_lint_passes_on_the_data_stack():
    """infra/aws/data-stack.yml: VPC, Aurora Serverless v2 and RDS Proxy for network=aurora."""
    stack = Path(artifact.REPO) / "infra" / "aws" / "data-stack.yml"
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(lint), "--non-zero-exit-code", "warning", str(stack)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
