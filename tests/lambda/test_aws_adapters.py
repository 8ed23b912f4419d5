"""The AWS adapters over real HTTP to moto_server: secrets (SSM, Secrets Manager, env fallback,
caching and rotation), DynamoDB idempotency shared by instances, S3 backup/restore through the
CLI, and the Bedrock embedder against a local server speaking InvokeModel."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from continuum.aws.idempotency import DynamoDBIdempotencyStore
from continuum.aws.secrets import SecretsLoader, SecretsUnavailable
from continuum.core.idempotency import CacheIdempotencyStore, StoredResponse
from continuum.settings import SettingsError

from .support import REGION, boto3_client, create_idempotency_table, os_environ_without_continuum

DB_URL = "postgresql://u:p@db.example.com:5432/continuum"


@pytest.fixture(autouse=True)
def aws_environment(moto, monkeypatch):
    """boto3 reads its endpoint, region and credentials from the process environment."""
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)


def _ssm_loader(moto, path, **extra):
    env = {**moto.env(), "CONTINUUM_SECRETS_SOURCE": "ssm", "CONTINUUM_SECRETS_PATH": path, **extra}
    return SecretsLoader(env)


def test_ssm_secrets_override_env_and_missing_ones_fall_back(moto):
    path = f"/continuum/t{secrets.token_hex(3)}"
    ssm = boto3_client("ssm", moto)
    ssm.put_parameter(Name=f"{path}/POSTGRES_URL", Value=DB_URL, Type="SecureString")
    ssm.put_parameter(Name=f"{path}/CONTINUUM_API_KEY", Value="k" * 24, Type="SecureString")
    ssm.put_parameter(Name=f"{path}/UNRELATED", Value="ignored", Type="String")
    loader = _ssm_loader(moto, path, CONTINUUM_API_KEY="e" * 20, CONTINUUM_JWT_SECRET="j" * 40)
    settings, _ = loader.load()
    assert settings.postgres_url == DB_URL and settings.storage_backend == "postgres"
    assert settings.api_key == "k" * 24  # the store wins over the environment
    assert settings.jwt_secret == "j" * 40  # not in the store: the environment's value


def test_secrets_manager_json_secret(moto):
    name = f"continuum/{secrets.token_hex(3)}"
    boto3_client("secretsmanager", moto).create_secret(
        Name=name, SecretString=json.dumps({"POSTGRES_URL": DB_URL, "UPSTASH_REDIS_REST_TOKEN": "tok"}))  # fmt: skip
    env = {**moto.env(), "CONTINUUM_SECRETS_SOURCE": "secretsmanager", "CONTINUUM_SECRETS_PATH": name,
           "UPSTASH_REDIS_REST_URL": "https://eu1-x.upstash.io"}  # fmt: skip
    settings, _ = SecretsLoader(env).load()
    assert settings.postgres_url == DB_URL and settings.upstash_redis_rest_token == "tok"


def test_plain_environment_needs_no_store():
    settings, _ = SecretsLoader({"POSTGRES_URL": DB_URL, "CONTINUUM_API_KEY": "a" * 20}).load()
    assert settings.postgres_url == DB_URL and settings.secrets_source == "env"


def test_secrets_are_cached_for_max_age_then_rotation_is_seen(moto):
    path = f"/continuum/r{secrets.token_hex(3)}"
    ssm = boto3_client("ssm", moto)
    ssm.put_parameter(Name=f"{path}/CONTINUUM_API_KEY", Value="first-key-0123456789", Type="SecureString")
    cached = _ssm_loader(moto, path, CONTINUUM_SECRETS_MAX_AGE="300")
    fresh = _ssm_loader(moto, path, CONTINUUM_SECRETS_MAX_AGE="0")
    before_cached, before_fresh = cached.load(), fresh.load()
    ssm.put_parameter(Name=f"{path}/CONTINUUM_API_KEY", Value="second-key-0123456789", Type="SecureString",
                      Overwrite=True)  # fmt: skip
    after_cached, after_fresh = cached.load(), fresh.load()
    assert after_cached[0].api_key == "first-key-0123456789" and after_cached[1] == before_cached[1]
    assert after_fresh[0].api_key == "second-key-0123456789" and after_fresh[1] != before_fresh[1]


def test_unreachable_store_is_a_clear_error_without_values(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1",
           "CONTINUUM_SECRETS_SOURCE": "ssm", "CONTINUUM_SECRETS_PATH": "/continuum/none"}  # fmt: skip
    with pytest.raises(SecretsUnavailable, match="cannot read secrets from ssm /continuum/none"):
        SecretsLoader(env).fetch()
    with pytest.raises(SettingsError, match="CONTINUUM_SECRETS_SOURCE=ssm needs CONTINUUM_SECRETS_PATH"):
        SecretsLoader({"CONTINUUM_SECRETS_SOURCE": "ssm"})


def test_handler_never_logs_secret_values(deployment):
    """Every record the core logs during a request, formatted by the Powertools formatter."""
    import io

    from functions import health

    from .support import LambdaContext, event

    core = logging.getLogger("continuum")
    learn = __import__("functions.learn", fromlist=["handler"])
    for warm in (health, learn):  # each handler sets the logger up on its first invocation
        warm.handler(event("v2", "GET", "/v1/health"), LambdaContext("continuum-test-health"))
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(core.handlers[0].formatter)
    core.addHandler(capture)
    level = core.level
    core.setLevel(logging.DEBUG)
    try:
        health.handler(event("v2", "GET", "/v1/health"), LambdaContext("continuum-test-health"))
        learn.handler(event("v1", "POST", "/v1/learn", headers={"x-api-key": deployment.admin_key},
                            body={"user_message": "secret check", "ai_response": "ok"}), LambdaContext())  # fmt: skip
    finally:
        core.removeHandler(capture)
        core.setLevel(level)
    text = stream.getvalue()
    assert '"message":"request"' in text and '"function_request_id"' in text and '"cold_start"' in text
    assert '"tenant_id":"default"' in text
    for value in (deployment.admin_key, deployment.jwt_secret, deployment.postgres_url):
        assert value not in text


def _store(moto, table):
    return DynamoDBIdempotencyStore(table, client=boto3_client("dynamodb", moto))


def test_dynamodb_store_is_shared_by_instances(moto):
    table = f"idem-{secrets.token_hex(4)}"
    create_idempotency_table(moto, table)
    first, second = _store(moto, table), _store(moto, table)  # two warm instances, two clients
    reply = StoredResponse(201, b'{"id":"m1"}', "application/json")

    async def scenario() -> None:
        assert (await first.claim("t#k", "fp", lock_seconds=60)).state == "new"
        assert (await second.claim("t#k", "fp", lock_seconds=60)).state == "in_progress"
        assert (await second.claim("t#k", "other", lock_seconds=60)).state == "mismatch"
        await first.complete("t#k", "fp", reply, ttl=3600)
        replay = await second.claim("t#k", "fp", lock_seconds=60)
        assert replay.state == "completed" and replay.response == reply
        # a failed attempt releases the key; a crashed one frees it when its lock expires
        assert (await first.claim("t#r", "fp", lock_seconds=60)).state == "new"
        await first.release("t#r", "fp")
        assert (await second.claim("t#r", "fp", lock_seconds=60)).state == "new"
        crashed = _store(moto, table)
        assert (await crashed.claim("t#c", "fp", lock_seconds=60)).state == "new"
        later = DynamoDBIdempotencyStore(table, client=crashed.client, clock=lambda: 10**10)
        assert (await later.claim("t#c", "fp", lock_seconds=60)).state == "new"

    asyncio.run(scenario())


def test_cache_backed_store_semantics():
    from continuum.cache.memory import InProcessCache

    store = CacheIdempotencyStore(InProcessCache())

    async def scenario() -> None:
        assert (await store.claim("t#k", "fp", lock_seconds=60)).state == "new"
        assert (await store.claim("t#k", "fp", lock_seconds=60)).state == "in_progress"
        await store.complete("t#k", "fp", StoredResponse(200, b"{}", "application/json"), ttl=60)
        assert (await store.claim("t#k", "fp", lock_seconds=60)).response.body == b"{}"
        assert (await store.claim("t#k", "zz", lock_seconds=60)).state == "mismatch"

    asyncio.run(scenario())


def _cli(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "continuum.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_backup_and_restore_through_s3(moto, tmp_path: Path):
    bucket = f"continuum-backups-{secrets.token_hex(4)}"
    s3 = boto3_client("s3", moto)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    db = tmp_path / "memory.db"
    env = {**os_environ_without_continuum(), **moto.env(), "CONTINUUM_DB_PATH": str(db)}
    learned = _cli(["learn", "--user", "Backups of Orion go to S3.", "--ai", "ok"], env, tmp_path)
    assert learned.returncode == 0, learned.stderr
    done = _cli(["backup", f"s3://{bucket}/nightly"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("nightly/continuum-") and keys[0].endswith(".db")
    _cli(["learn", "--user", "A turn after the backup.", "--ai", "ok"], env, tmp_path)
    restored = _cli(["restore", "--yes", f"s3://{bucket}/nightly/"], env, tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert f"s3://{bucket}/{keys[0]}" in restored.stdout
    with sqlite3.connect(db) as conn:
        contents = [r[0] for r in conn.execute("SELECT content FROM memories")]
    assert any("Orion" in c for c in contents) and not any("after the backup" in c for c in contents)
    missing = _cli(["restore", "--yes", f"s3://{bucket}/nothing-here/"], env, tmp_path)
    assert missing.returncode != 0 and "no backup" in missing.stderr and "Traceback" not in missing.stderr


class _InvokeModel(BaseHTTPRequestHandler):
    """Bedrock Runtime's InvokeModel (POST /model/{id}/invoke), answering like Titan and Cohere."""

    calls: list[tuple[str, dict]] = []

    def do_POST(self) -> None:
        model = self.path.split("/")[2]
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _InvokeModel.calls.append((model, body))
        if "authorization" not in {k.lower() for k in self.headers}:
            self.send_response(403)
            self.end_headers()
            return
        vector = lambda text: [float(len(text)), 1.0, 0.0]  # noqa: E731
        if "texts" in body:
            answer = {"embeddings": [vector(t) for t in body["texts"]], "id": "x", "texts": body["texts"]}
        else:
            answer = {"embedding": vector(body["inputText"]), "inputTextTokenCount": 3}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_bedrock_embedder_over_invoke_model():
    import boto3

    from continuum.embeddings.bedrock import BedrockEmbedder, from_settings
    from continuum.embeddings.errors import EmbeddingUnavailable
    from continuum.settings import load_settings

    server = ThreadingHTTPServer(("127.0.0.1", 0), _InvokeModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = boto3.client("bedrock-runtime", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                              region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        settings = load_settings({"CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "bedrock"},
                                 read_files=False)  # fmt: skip
        titan = from_settings(settings, bedrock_client=client)
        vectors = asyncio.run(titan.embed(["one", "three"]))
        assert titan.name == "bedrock/amazon.titan-embed-text-v2:0" and titan.dimensions == 3
        assert abs(sum(x * x for x in vectors[0]) - 1) < 1e-9 and vectors[0] != vectors[1]
        cohere = BedrockEmbedder("cohere.embed-multilingual-v3", client=client)
        assert len(asyncio.run(cohere.embed([f"t{i}" for i in range(100)]))) == 100
        assert [len(b["texts"]) for m, b in _InvokeModel.calls if m.startswith("cohere")] == [96, 4]
        down = BedrockEmbedder(client=boto3.client("bedrock-runtime", endpoint_url="http://127.0.0.1:9",
                               region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"))  # fmt: skip
        with pytest.raises(EmbeddingUnavailable):
            asyncio.run(down.embed(["x"]))
    finally:
        server.shutdown()
