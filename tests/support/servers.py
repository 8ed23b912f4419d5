"""Real servers for end-to-end tests, behind one small interface.

A *target* knows how to start CONTINUUM somewhere real (a `continuum serve` process
on SQLite, on PostgreSQL + Redis, the Workers harness, ...) and hands back a
`RunningServer` with its URL. The HTTP suite runs unchanged against every target
named in CONTINUUM_E2E_TARGETS (comma-separated; default: every registered target).
A target that cannot start fails the run: nothing is silently skipped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The test process's environment without any CONTINUUM_/POSTGRES_/REDIS_ leakage."""
    prefixes = ("CONTINUUM_", "POSTGRES_", "REDIS_", "UPSTASH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v1/health", timeout=2).status_code in (200, 503):
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout}s:\n{log.read_text()[-4000:]}")


@dataclass
class ServerProcess:
    """A child process serving HTTP on `port`, restartable with the same environment."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    ready_timeout: float = 60.0
    proc: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.cwd / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(
            self.command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_healthy(self.url, self.proc, self.ready_timeout, self.log_path)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class RunningServer:
    url: str
    admin_key: str | None
    require_api_key: bool
    process: ServerProcess
    target: str
    cleanup: Callable[[], None] | None = None
    jwt_secret: str | None = None

    def client(self, api_key: str | None = None, **headers: str) -> httpx.Client:
        merged = dict(headers)
        if api_key:
            merged["X-API-Key"] = api_key
        return httpx.Client(base_url=self.url, headers=merged, timeout=60)

    def admin(self) -> httpx.Client:
        return self.client(self.admin_key)

    def new_tenant(self, tenant_id: str | None = None) -> tuple[str, httpx.Client]:
        """A fresh tenant with its own key (auth on) and a client using it."""
        tenant_id = tenant_id or f"t-{secrets.token_hex(6)}"
        with self.admin() as admin:
            response = admin.post("/v1/keys", json={"tenant_id": tenant_id})
            response.raise_for_status()
            key = response.json()["api_key"]
        return tenant_id, self.client(key)

    def restart(self) -> None:
        self.process.restart()

    def stop(self) -> None:
        self.process.stop()
        if self.cleanup is not None:
            self.cleanup()


class Target(Protocol):
    name: str

    def start(self, *, require_api_key: bool, extra_env: dict[str, str] | None = None) -> RunningServer: ...


def base_settings(require_api_key: bool) -> dict[str, str]:
    """Settings every target's server gets: fresh admin key and JWT secret, quiet logs."""
    return {
        "CONTINUUM_API_KEY": "admin-" + secrets.token_hex(16),
        "CONTINUUM_JWT_SECRET": secrets.token_hex(32),
        "CONTINUUM_REQUIRE_API_KEY": "true" if require_api_key else "false",
        "CONTINUUM_LOG_LEVEL": "WARNING",
    }


def continuum_serve(env: dict[str, str], workdir: Path) -> ServerProcess:
    port = free_port()
    command = [sys.executable, "-m", "continuum.cli.main", "serve", "--port", str(port)]
    return ServerProcess(command=command, env=env, cwd=workdir, port=port)


class SqliteTarget:
    """`continuum serve` on a fresh SQLite file (the embedded default)."""

    name = "sqlite"

    def start(self, *, require_api_key: bool, extra_env: dict[str, str] | None = None) -> RunningServer:
        workdir = Path(tempfile.mkdtemp(prefix="continuum-e2e-"))
        settings = base_settings(require_api_key)
        env = clean_env({"CONTINUUM_DB_PATH": str(workdir / "memory.db"), **settings, **(extra_env or {})})
        process = continuum_serve(env, workdir)
        process.start()
        return RunningServer(
            url=process.url, admin_key=env["CONTINUUM_API_KEY"], require_api_key=require_api_key,
            process=process, target=self.name, jwt_secret=env.get("CONTINUUM_JWT_SECRET"),
            cleanup=lambda: shutil.rmtree(workdir, ignore_errors=True),
        )  # fmt: skip


TARGETS: dict[str, Callable[[], Target]] = {"sqlite": SqliteTarget}


def register_target(name: str, factory: Callable[[], Target]) -> None:
    TARGETS[name] = factory


def selected_targets() -> list[str]:
    _load_plugins()
    raw = os.environ.get("CONTINUUM_E2E_TARGETS", "")
    names = [n.strip() for n in raw.split(",") if n.strip()] or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise ValueError(f"unknown CONTINUUM_E2E_TARGETS {unknown}; known: {sorted(TARGETS)}")
    return names


def _load_plugins() -> None:
    """Targets defined beside this module (targets_*.py) register themselves on import."""
    import importlib

    for path in sorted(Path(__file__).parent.glob("targets_*.py")):
        importlib.import_module(f"tests.support.{path.stem}")
