"""infra/backup against the real local PostgreSQL: back up a database holding two tenants,
drop it, restore into a new one, and every tenant's export is byte-identical; retention
prunes old dumps; a damaged dump or a non-empty target is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.deploy.pgtools import continuum_cli, psql, throwaway_database, url
from tests.deploy.tools import REPO

BACKUP = REPO / "infra" / "backup" / "backup.sh"
RESTORE = REPO / "infra" / "backup" / "restore.sh"
BASH = shutil.which("bash") or "/bin/bash"


def _script(script: Path, *args: str, postgres_url: str, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    merged = {**os.environ, "POSTGRES_URL": postgres_url, **(env or {})}
    return subprocess.run([BASH, str(script), *args], env=merged, capture_output=True, text=True, check=False)


def _exports(postgres_url: str, tmp_path: Path) -> dict[str, bytes]:
    out = {}
    for tenant in ("default", "acme"):
        target = tmp_path / f"export-{tenant}-{time.monotonic_ns()}.jsonl"
        continuum_cli("export", "--tenant", tenant, "-o", str(target), postgres_url=postgres_url, cwd=tmp_path)
        header, _, body = target.read_bytes().partition(b"\n")
        fields = json.loads(header)
        assert fields["type"] == "header"
        del fields["exported_at"]  # the one line that names the moment of the export
        out[tenant] = json.dumps(fields, sort_keys=True).encode() + b"\n" + body
    return out


def test_backup_drop_restore_gives_identical_exports(tmp_path: Path) -> None:
    with throwaway_database() as (app, db):
        source = url(app, db)
        continuum_cli("migrate", postgres_url=source, cwd=tmp_path)
        for tenant, text in (("default", "We chose Kafka for the Orion pipeline"), ("acme", "Kim owns the checklist")):
            continuum_cli("learn", "--tenant", tenant, "--user", text, "--ai", "Noted.", postgres_url=source,
                          cwd=tmp_path)  # fmt: skip
        before = _exports(source, tmp_path)
        assert b"Kafka" in before["default"] and b"Kim" in before["acme"]

        done = _script(BACKUP, str(tmp_path / "backups"), postgres_url=source)
        assert done.returncode == 0, done.stderr
        dump = Path(done.stdout.strip())
        assert dump.exists() and (dump.parent / f"{dump.name}.sha256").exists()
        assert db not in done.stderr and source not in done.stderr  # no URL (no password) in its output
        assert oct(dump.stat().st_mode & 0o777) == "0o600"

        # A non-empty target is refused without --clean.
        refused = _script(RESTORE, str(dump), postgres_url=source)
        assert refused.returncode == 1 and "--clean" in refused.stderr

        psql(f'DROP DATABASE "{db}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{db}" OWNER "{app}" ENCODING \'UTF8\' TEMPLATE template0')
        restored = _script(RESTORE, str(dump), postgres_url=source)
        assert restored.returncode == 0, restored.stderr
        assert _exports(source, tmp_path) == before

        # --clean over the live database gives the same again.
        again = _script(RESTORE, "--clean", str(dump), postgres_url=source)
        assert again.returncode == 0, again.stderr
        assert _exports(source, tmp_path) == before


def test_damaged_dump_is_refused(tmp_path: Path) -> None:
    with throwaway_database() as (app, db):
        source = url(app, db)
        continuum_cli("migrate", postgres_url=source, cwd=tmp_path)
        dump = Path(_script(BACKUP, str(tmp_path), postgres_url=source).stdout.strip())
        dump.write_bytes(dump.read_bytes()[:-100])
        done = _script(RESTORE, str(dump), postgres_url=source)
        assert done.returncode == 1 and "checksum mismatch" in done.stderr


def test_retention_prunes_old_dumps_only(tmp_path: Path) -> None:
    old = tmp_path / "continuum-20200101T000000Z.dump"
    old.write_bytes(b"old")
    os.utime(old, (time.time() - 40 * 86400, time.time() - 40 * 86400))
    with throwaway_database() as (app, db):
        source = url(app, db)
        continuum_cli("migrate", postgres_url=source, cwd=tmp_path)
        done = _script(BACKUP, str(tmp_path), postgres_url=source, env={"BACKUP_RETENTION_DAYS": "30"})
        assert done.returncode == 0, done.stderr
        assert not old.exists() and Path(done.stdout.strip()).exists()
        assert "pruned" in done.stderr


def test_s3_upload_without_the_aws_cli_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()  # a PATH without the aws CLI
    done = _script(BACKUP, str(tmp_path / "out"), postgres_url="postgresql://nobody@127.0.0.1/none",
                   env={"BACKUP_S3_URI": "s3://bucket/prefix", "PATH": str(tmp_path / "bin")})  # fmt: skip
    assert done.returncode == 2 and "aws CLI is not installed" in done.stderr
    assert not (tmp_path / "out").exists()
