"""Fault tests: real dependencies stopped under a real server.

Only dependencies these tests start themselves are ever stopped: a private
redis-server, a private Upstash test server, a private PostgreSQL cluster. The shared
PostgreSQL and Redis that other sessions use are never touched beyond our own
database and key prefix.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.pg import free_port
from tests.support.servers import RunningServer, base_settings, clean_env, continuum_serve


@dataclass
class RedisProcess:
    """A private redis-server on a free port (no persistence)."""

    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise TimeoutError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="continuum-faults-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_redis(workdir: Path) -> Iterator[RedisProcess]:
    redis = RedisProcess(free_port(), workdir)
    redis.start()
    yield redis
    redis.stop()


@contextlib.contextmanager
def serve(env: dict[str, str], workdir: Path) -> Iterator[RunningServer]:
    """`continuum serve` with these settings (auth on), stopped afterwards."""
    settings = clean_env({**base_settings(True), "CONTINUUM_CACHE_PREFIX": f"faults:{secrets.token_hex(6)}:", **env})
    process = continuum_serve(settings, workdir)
    process.start()
    running = RunningServer(
        url=process.url, admin_key=settings["CONTINUUM_API_KEY"], require_api_key=True, process=process, target="faults"
    )
    try:
        yield running
    finally:
        process.stop()


def wait_for(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            last = check()
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last!r})")
