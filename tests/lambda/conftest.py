"""Lambda fixtures: moto_server (SSM, Secrets Manager, DynamoDB, S3 over real HTTP), a fresh
PostgreSQL database migrated through the `migrate` function, and the environment the
deployed functions get (secrets from SSM, idempotency in DynamoDB)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.pg import create_database, drop_database

from .support import MotoServer, boto3_client, create_idempotency_table


@dataclass
class Deployment:
    env: dict[str, str]
    admin_key: str
    jwt_secret: str
    postgres_url: str
    moto: MotoServer
    table: str


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = create_database("continuum_lambda")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def deployment(moto: MotoServer, postgres_url: str) -> Iterator[Deployment]:
    """The serverless.yml environment, with secrets in SSM under /continuum/test; set in
    os.environ for the session (the handlers read it there, as on Lambda)."""
    admin_key = "admin-" + secrets.token_hex(16)
    jwt_secret = secrets.token_hex(32)
    table = f"continuum-test-idempotency-{secrets.token_hex(4)}"
    create_idempotency_table(moto, table)
    ssm = boto3_client("ssm", moto)
    for name, value in {"POSTGRES_URL": postgres_url, "CONTINUUM_API_KEY": admin_key,
                        "CONTINUUM_JWT_SECRET": jwt_secret}.items():  # fmt: skip
        ssm.put_parameter(Name=f"/continuum/test/{name}", Value=value, Type="SecureString", Overwrite=True)
    env = {
        **moto.env(),
        "CONTINUUM_ENV": "production", "CONTINUUM_STORAGE": "postgres", "CONTINUUM_REQUIRE_API_KEY": "true",
        "CONTINUUM_SECRETS_SOURCE": "ssm", "CONTINUUM_SECRETS_PATH": "/continuum/test",
        "CONTINUUM_IDEMPOTENCY_TABLE": table, "CONTINUUM_LOG_LEVEL": "WARNING",
        "POWERTOOLS_SERVICE_NAME": "continuum", "POWERTOOLS_METRICS_NAMESPACE": "Continuum",
    }  # fmt: skip
    # As on Lambda, the functions see only their own configuration: variables of the test
    # run itself (e.g. CONTINUUM_E2E_TARGETS) would be rejected as unknown settings.
    stray = [k for k in os.environ if k.startswith(("CONTINUUM_", "POSTGRES_", "REDIS_", "UPSTASH_")) and k not in env]
    saved = {k: os.environ.get(k) for k in [*env, *stray]}
    for key in stray:
        del os.environ[key]
    os.environ.update(env)
    from functions import migrate

    result = migrate.handler({}, None)
    assert result["storage"] == "postgres" and result["applied"], result
    try:
        yield Deployment(env, admin_key, jwt_secret, postgres_url, moto, table)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
