"""fly.toml and railway.json. Neither platform has a validator that runs offline (npm
@railway/cli downloads its binary; flyctl is not in any registry reachable here), so both
files are checked against JSON schemas written for this repository from the platforms'
configuration references (tests/deploy/schemas/), plus what CONTINUUM itself needs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from tests.deploy.tools import REPO

SCHEMAS = Path(__file__).parent / "schemas"


def _validate(document: object, schema_name: str) -> None:
    schema = json.loads((SCHEMAS / schema_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def test_fly_toml() -> None:
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    _validate(fly, "fly.schema.json")
    service = fly["http_service"]
    assert service["internal_port"] == int(fly["env"]["CONTINUUM_API_PORT"])
    assert [c["path"] for c in service["checks"]] == ["/v1/health"]
    assert service["concurrency"]["hard_limit"] >= service["concurrency"]["soft_limit"]
    assert service["min_machines_running"] >= 2
    assert fly["build"]["dockerfile"] == "infra/docker/Dockerfile"
    assert (REPO / fly["build"]["dockerfile"]).exists()
    for secret in ("POSTGRES_URL", "REDIS_URL", "CONTINUUM_API_KEY"):
        assert secret not in fly["env"]  # secrets go through `fly secrets set`


def test_railway_json() -> None:
    railway = json.loads((REPO / "railway.json").read_text())
    _validate(railway, "railway.schema.json")
    assert railway["deploy"]["healthcheckPath"] == "/v1/health"
    assert (REPO / railway["build"]["dockerfilePath"]).exists()


@pytest.mark.parametrize(("document", "schema_name"), [
    ({"app": "continuum", "primary_region": "iad", "http_service": {"internal_port": 8420, "concurency": {}}},
     "fly.schema.json"),
    ({"deploy": {"healthcheckPath": "v1/health"}}, "railway.schema.json"),
])  # fmt: skip
def test_the_schemas_catch_mistakes(document: dict, schema_name: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validate(document, schema_name)
