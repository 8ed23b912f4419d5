"""Throwaway databases and roles on the machine's PostgreSQL (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.deploy.tools import REPO, run

PG = {"host": "127.0.0.1", "port": "5432"}


def psql(
    sql: str, *, user: str = "postgres", db: str = "postgres", check: bool = True,
    variables: dict[str, str] | None = None, file: Path | None = None,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    args = ["psql", "-X", "-q", "-tA", "-h", PG["host"], "-p", PG["port"], "-U", user, "-d", db]
    args += ["-v", "ON_ERROR_STOP=1"]
    for key, value in (variables or {}).items():
        args += ["-v", f"{key}={value}"]
    args += ["-f", str(file)] if file else ["-c", sql]
    return run(args, check=check)


@contextmanager
def throwaway_database(owner_prefix: str = "ctmapp") -> Iterator[tuple[str, str]]:
    """A fresh role and a database it owns; both dropped afterwards."""
    suffix = secrets.token_hex(4)
    role, db = f"{owner_prefix}_{suffix}", f"ctmdb_{suffix}"
    psql(f'CREATE ROLE "{role}" LOGIN')
    psql(f'CREATE DATABASE "{db}" OWNER "{role}" ENCODING \'UTF8\' TEMPLATE template0')
    try:
        yield role, db
    finally:
        psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', check=False)
        psql(f'DROP ROLE IF EXISTS "{role}"', check=False)


def url(role: str, db: str, port: str = PG["port"]) -> str:
    return f"postgresql://{role}@{PG['host']}:{port}/{db}"


def continuum_cli(*args: str, postgres_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTINUUM_", "POSTGRES_", "REDIS_"))}
    env.update({"POSTGRES_URL": postgres_url, "CONTINUUM_LOG_LEVEL": "WARNING",
                "PYTHONPATH": f"{REPO / 'shared'}{os.pathsep}{env.get('PYTHONPATH', '')}"})  # fmt: skip
    return run([sys.executable, "-m", "continuum.cli.main", *args], env=env, cwd=cwd)
