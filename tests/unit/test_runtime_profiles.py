"""runtime/profiles.py and the composition root (runtime/assembly.py): what each profile
decides, and that one assembly turns any profile into services, a store and an app."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from continuum.core.idempotency import CacheIdempotencyStore, UnsupportedIdempotencyStore
from continuum.runtime import CLI, LAMBDA, WORKER, ProcessModel, local_server
from continuum.runtime.assembly import RuntimeBindings, assemble
from continuum.runtime.profiles import (
    SERVE_WORKERS_VARIABLE,
    IdempotencyPolicy,
    StorageConnection,
    local_server_from_environ,
)
from continuum.settings import SettingsError, load_settings


@pytest.fixture
def settings(tmp_path):
    return load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "p.db"), "CONTINUUM_LOG_LEVEL": "WARNING"},
                         read_files=False)  # fmt: skip


def test_one_process_model_spelled_once():
    assert local_server().process is ProcessModel.SINGLE and local_server().single_process
    assert local_server(2).process is ProcessModel.SHARED
    assert LAMBDA.process is WORKER.process is ProcessModel.SHARED
    assert CLI.process is ProcessModel.SINGLE


def test_profiles_declare_storage_idempotency_and_lifecycle():
    assert LAMBDA.storage is StorageConnection.PER_INSTANCE
    assert {p.storage for p in (local_server(), WORKER, CLI)} == {StorageConnection.POOLED}
    assert LAMBDA.idempotency is IdempotencyPolicy.DYNAMODB
    assert "CONTINUUM_IDEMPOTENCY_TABLE" in LAMBDA.idempotency_hint
    assert "UPSTASH" in WORKER.idempotency_hint and "REDIS_URL" in local_server(2).idempotency_hint
    server = local_server().lifecycle
    assert server.migrate_at_start and server.purge_loop and server.close_on_shutdown and server.build_at_start
    assert not LAMBDA.lifecycle.build_at_start and not LAMBDA.lifecycle.migrate_at_start
    assert not WORKER.lifecycle.close_on_shutdown and not WORKER.lifecycle.purge_loop


def test_worker_count_comes_from_the_cli_variable():
    assert local_server_from_environ({}).process is ProcessModel.SINGLE
    assert local_server_from_environ({SERVE_WORKERS_VARIABLE: "2"}) == local_server(2)
    for bad in ("two", "0"):
        with pytest.raises(SettingsError, match=SERVE_WORKERS_VARIABLE):
            local_server_from_environ({SERVE_WORKERS_VARIABLE: bad})


def test_importing_the_profiles_imports_no_adapter():
    code = (
        "import sys; import continuum.runtime.profiles; "
        "print(sorted(m for m in sys.modules if m.startswith(('continuum.storage', 'continuum.cache.redis', "
        "'continuum.cache.upstash', 'continuum.aws', 'continuum.workers', 'continuum.observability', "
        "'prometheus_client', 'fastapi', 'psycopg'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_single_process_keeps_idempotency_in_memory_shared_refuses_without_a_store(settings):
    single = assemble(CLI, settings)
    assert isinstance(single.idempotency, CacheIdempotencyStore)
    assert single.services.cache.local is not None
    shared = assemble(local_server(2), settings)
    assert isinstance(shared.idempotency, UnsupportedIdempotencyStore)
    assert "REDIS_URL" in shared.idempotency.reason
    assert shared.services.cache.local is None  # no in-process results several processes could not invalidate
    await single.services.close()
    await shared.services.close()


async def test_a_shared_cache_holds_idempotency_records_under_the_cache_prefix(settings):
    from continuum.cache.memory import InProcessCache

    shared_cache = InProcessCache()
    assembly = assemble(WORKER, settings.with_overrides(cache_prefix="edge:"),
                        RuntimeBindings(shared_cache=shared_cache))  # fmt: skip
    store = assembly.idempotency
    assert isinstance(store, CacheIdempotencyStore)
    assert store.cache is shared_cache and store.prefix == "edge:idem:"
    await assembly.services.close()


def test_lambda_builds_on_first_request_and_uses_dynamodb_when_a_table_is_set(settings):
    from continuum.aws.idempotency import DynamoDBIdempotencyStore

    refused = assemble(LAMBDA, settings)
    assert refused._services is None  # nothing built before the first request
    assert isinstance(refused.idempotency, UnsupportedIdempotencyStore)
    with_table = assemble(LAMBDA, settings.with_overrides(idempotency_table="continuum-idem"))
    assert isinstance(with_table.idempotency, DynamoDBIdempotencyStore)
    assert with_table.idempotency.table == "continuum-idem"


async def test_the_local_server_app_migrates_at_start_and_closes_at_stop(settings):
    from continuum.api.app import create_app

    assembly = assemble(local_server(), settings)
    app = create_app(assembly)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://server") as client:
            stored = await client.post("/v1/memories", json={"content": "migrated before the first request"})
            assert stored.status_code == 201, stored.text
    assert app.state.provider.ready is None  # closed on shutdown


async def test_the_worker_app_outlives_its_lifespan(settings):
    from continuum.api.app import create_app

    assembly = assemble(WORKER, settings)
    await assembly.services.storage.migrate()
    app = create_app(assembly)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            assert (await client.get("/v1/health")).status_code == 200
    assert app.state.provider.ready is assembly.services  # the SDK runs the lifespan per request
    await assembly.services.close()
