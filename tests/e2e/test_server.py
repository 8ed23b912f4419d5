"""server.py as `continuum serve --workers 2` runs it: real processes on PostgreSQL + Redis.

Each uvicorn worker process builds its app through `continuum.server:app_factory`, which
reads the worker count (CONTINUUM_SERVE_WORKERS, set by the CLI) into the local-server
profile. The test holds many keep-alive connections and finds, through /proc, which worker
process accepted each one: both workers must be serving, and neither may restart.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.pg import REDIS_URL, create_database, delete_redis_keys, drop_database
from tests.support.servers import ServerProcess, base_settings, clean_env, free_port

WORKERS = 2
MAX_CONNECTIONS = 64

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc"),
]


@pytest.fixture(scope="module")
def served() -> Iterator[ServerProcess]:
    workdir = Path(tempfile.mkdtemp(prefix="continuum-e2e-workers-"))
    database = create_database("continuum_e2e_workers")
    prefix = f"continuum-e2e:{secrets.token_hex(6)}:"
    env = clean_env({
        **base_settings(require_api_key=True), "CONTINUUM_LOG_LEVEL": "INFO", "POSTGRES_URL": database,
        "REDIS_URL": REDIS_URL, "CONTINUUM_CACHE_PREFIX": prefix,
        "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2",
    })  # fmt: skip
    port = free_port()
    command = [sys.executable, "-m", "continuum.cli.main", "serve", "--port", str(port), "--workers", str(WORKERS)]
    process = ServerProcess(command=command, env=env, cwd=workdir, port=port)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        drop_database(database)
        delete_redis_keys(prefix)


def _children(pid: int) -> dict[int, str]:
    """Child processes of `pid`: {pid: command line}."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found[int(entry.name)] = cmdline
    return found


def _workers(process: ServerProcess) -> set[int]:
    assert process.proc is not None
    return {pid for pid, cmdline in _children(process.proc.pid).items() if "spawn_main" in cmdline}


def _established_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # ESTABLISHED, server side
                inodes.add(fields[9])
    return inodes


def _accepted_by(worker: int, port: int) -> int:
    """How many of the server's established connections `worker` holds."""
    established = _established_inodes(port)
    held = 0
    for fd in Path(f"/proc/{worker}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in established:
            held += 1
    return held


def _wait_for_workers(process: ServerProcess, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = _workers(process)
        if len(workers) == WORKERS:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"expected {WORKERS} worker processes, found {_workers(process)}:\n{process.logs()[-3000:]}")


def test_two_workers_both_serve_and_stay_up(served: ServerProcess):
    workers = _wait_for_workers(served)
    admin_key = served.env["CONTINUUM_API_KEY"]
    with httpx.Client(base_url=served.url, headers={"X-API-Key": admin_key}, timeout=30) as admin:
        created = admin.post("/v1/keys", json={"tenant_id": "workers-" + secrets.token_hex(4)})
        assert created.status_code == 201, created.text
    key = created.json()["api_key"]

    clients: list[httpx.Client] = []
    try:
        held: dict[int, int] = {}
        for n in range(MAX_CONNECTIONS):
            client = httpx.Client(base_url=served.url, headers={"X-API-Key": key}, timeout=30)
            clients.append(client)  # kept open: its connection stays with the worker that accepted it
            stored = client.post("/v1/memories", json={"content": f"note {n} from connection {n}"})
            assert stored.status_code == 201, stored.text
            held = {worker: _accepted_by(worker, served.port) for worker in workers}
            if len(clients) >= 8 and all(held.values()):
                break
        assert all(held.values()), f"connections per worker: {held}"
        # Every worker answers reads of what any worker wrote (one database, one shared cache).
        for client in clients:
            assert client.get("/v1/stats").json()["memories"] == len(clients)
        # A keyed write retried on another connection (likely another worker) replays (Redis).
        body = {"content": "paid invoice 7 on Monday"}
        first = clients[0].post("/v1/memories", json=body, headers={"Idempotency-Key": "k-workers"})
        again = clients[-1].post("/v1/memories", json=body, headers={"Idempotency-Key": "k-workers"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    finally:
        for client in clients:
            client.close()
    assert _workers(served) == workers, "a worker restarted while serving"
    logs = served.logs()
    assert "Traceback" not in logs and "unknown setting" not in logs, logs[-3000:]
