"""PostgreSQL and Redis for tests: throwaway databases on the shared server, private
clusters that a test may stop, and a pgvector-enabled server.

The shared PostgreSQL (TEST_POSTGRES_ADMIN_URL, default the local one) and Redis
(TEST_REDIS_URL) are used by other test sessions too: tests here only create and drop
their own uniquely named databases, use unique key prefixes, and never stop them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SYSTEM_PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def database_url(name: str, admin_url: str = ADMIN_URL) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def create_database(prefix: str = "continuum_test", admin_url: str = ADMIN_URL) -> str:
    """A fresh empty database; returns its URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name, admin_url)


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = url.rpartition("/")[2].split("?")[0]
    if not name.startswith("continuum_"):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def temporary_database(prefix: str = "continuum_test", admin_url: str = ADMIN_URL) -> Iterator[str]:
    url = create_database(prefix, admin_url)
    try:
        yield url
    finally:
        drop_database(url, admin_url)


def delete_redis_keys(prefix: str, url: str = REDIS_URL) -> None:
    """Remove the keys a test wrote under its own prefix (never FLUSHDB a shared Redis)."""
    import redis

    if not prefix or "*" in prefix:
        raise ValueError("a concrete key prefix is required")
    client = redis.Redis.from_url(url)
    try:
        batch = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(batch), 500):
            client.delete(*batch[start : start + 500])
    finally:
        client.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user() -> dict[str, object]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then."""
    if os.geteuid() != 0:
        return {}
    import pwd

    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@dataclass
class PrivateCluster:
    """A PostgreSQL server of our own (initdb + pg_ctl) on a free port: tests may stop,
    crash and restart it without touching the shared server."""

    bin_dir: Path = SYSTEM_PG_BIN
    port: int = 0
    data_dir: Path | None = None
    lib_dir: Path | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="continuum-pg-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.socket_dir.mkdir()
        self.log = self.root / "postgres.log"
        if os.geteuid() == 0:
            ids = _as_postgres_user()
            for path in (self.root, self.socket_dir):
                os.chown(path, ids["user"], ids["group"])  # type: ignore[arg-type]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        if self.lib_dir is not None:
            env["LD_LIBRARY_PATH"] = str(self.lib_dir)
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            check=check,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            **_as_postgres_user(),
        )

    def init(self) -> PrivateCluster:
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
        )
        return self

    def start(self, timeout: int = 30) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.log), "-w", "-t", str(timeout), "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False).returncode == 0

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError), psycopg.connect(self.admin_url, connect_timeout=2):
                return
            time.sleep(0.2)
        raise TimeoutError(f"private PostgreSQL on {self.port} not ready:\n{self.log.read_text()[-2000:]}")

    def destroy(self) -> None:
        if self.data_dir is not None and self.data_dir.exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def pgvector_cluster() -> PrivateCluster:
    """PostgreSQL 16 with pgvector, from the `pgserver` wheel's own binaries (the system
    PostgreSQL 15 has no pgvector package here)."""
    import pgserver

    base = Path(pgserver.__file__).resolve().parent / "pginstall"
    if not (base / "bin" / "postgres").exists():
        raise RuntimeError(f"pgserver's PostgreSQL binaries are missing under {base}")
    return PrivateCluster(bin_dir=base / "bin", lib_dir=base / "lib")


@dataclass
class PgBouncer:
    """A real PgBouncer in *transaction* pooling mode in front of a PostgreSQL server
    (the mode of RDS Proxy, Neon and Supabase poolers): server connections are shared
    between clients transaction by transaction, and this version (1.18) keeps no
    prepared statements, so any session state or server-side prepare would break."""

    target_host: str = "127.0.0.1"
    target_port: int = 5432
    port: int = 0
    pool_size: int = 4
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="continuum-pgbouncer-"))

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 15.0) -> PgBouncer:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        (self.root / "userlist.txt").write_text('"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={self.target_host} port={self.target_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'userlist.txt'}\n"
            f"pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = {self.pool_size}\n"
            f"logfile = {self.root / 'pgbouncer.log'}\npidfile = {self.root / 'pgbouncer.pid'}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        ids = _as_postgres_user()
        if ids:
            os.chown(self.root, ids["user"], ids["group"])  # type: ignore[arg-type]
            for path in self.root.iterdir():
                os.chown(path, ids["user"], ids["group"])  # type: ignore[arg-type]
        self.proc = subprocess.Popen(
            [binary, str(self.root / "pgbouncer.ini")],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **ids,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.root / "pgbouncer.log").read_text() if (self.root / "pgbouncer.log").exists() else ""
                raise RuntimeError(f"pgbouncer exited with {self.proc.returncode}: {log[-2000:]}")
            with (
                contextlib.suppress(psycopg.OperationalError),
                psycopg.connect(self.url("postgres"), connect_timeout=2),
            ):
                return self
            time.sleep(0.1)
        raise TimeoutError("pgbouncer did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)
