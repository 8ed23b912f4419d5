"""infra/postgres: the hardening SQL applied to a throwaway database on the real local
PostgreSQL (the read-only role reads and cannot write; PUBLIC cannot connect; the
application still works), the SSL settings accepted by a real server that then serves TLS
only from 1.2, and CONTINUUM serving through PgBouncer in transaction mode."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.deploy.pgtools import continuum_cli, psql, throwaway_database, url
from tests.deploy.smoke import client, store_learn_recall_search
from tests.deploy.tools import REPO, free_port, run, tool, wait_for

POSTGRES_DIR = REPO / "infra" / "postgres"
PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def test_hardening_sql_gives_a_read_only_role_and_closes_public(tmp_path: Path) -> None:
    with throwaway_database() as (app, db):
        continuum_cli("migrate", postgres_url=url(app, db), cwd=tmp_path)
        continuum_cli("learn", "--user", "We picked Kafka for the Orion pipeline", postgres_url=url(app, db),
                      cwd=tmp_path)  # fmt: skip
        outsider = f"ctmout_{db[-8:]}"
        psql(f'CREATE ROLE "{outsider}" LOGIN')
        try:
            variables = {"dbname": db, "app_role": app, "reader_password": "x" * 32}
            psql("", db=db, file=POSTGRES_DIR / "hardening.sql", variables=variables)
            psql("", db=db, file=POSTGRES_DIR / "hardening.sql", variables=variables)  # idempotent

            assert int(psql("SELECT count(*) FROM memories", user="continuum_reader", db=db).stdout) >= 1
            writes = ("DELETE FROM memories", "UPDATE memories SET content = 'x'",
                      "INSERT INTO schema_migrations (version) VALUES ('evil')", "CREATE TABLE evil (a int)")
            for statement in writes:
                done = psql(statement, user="continuum_reader", db=db, check=False)
                assert done.returncode != 0, statement
                assert "read-only transaction" in done.stderr or "permission denied" in done.stderr, done.stderr
            # Even leaving read-only mode, the role holds no write privilege.
            done = psql("BEGIN READ WRITE; DELETE FROM memories; ROLLBACK", user="continuum_reader",
                        db=db, check=False)  # fmt: skip
            assert done.returncode != 0 and "permission denied" in done.stderr

            refused = psql("SELECT 1", user=outsider, db=db, check=False)
            assert refused.returncode != 0 and "permission denied for database" in refused.stderr

            # The application keeps working, and new migrations' tables stay readable.
            continuum_cli("learn", "--user", "Kim owns the launch checklist", postgres_url=url(app, db), cwd=tmp_path)
            psql("CREATE TABLE later_table (a int)", user=app, db=db)
            assert psql("SELECT count(*) FROM later_table", user="continuum_reader", db=db).stdout.strip() == "0"
        finally:
            psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', check=False)
            for role in ("continuum_reader", "continuum_readonly", outsider):
                psql(f'DROP ROLE IF EXISTS "{role}"', check=False)


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def test_ssl_settings_are_accepted_by_a_real_server(tmp_path: Path) -> None:
    """A private cluster includes postgresql-hardening.conf (with a self-signed certificate):
    it starts, serves TLS, refuses TLS 1.1 and stores SCRAM passwords."""
    data = Path(tempfile.mkdtemp(prefix="ctm-pg-"))
    shutil.chown(data, "postgres", "postgres") if os.geteuid() == 0 else None
    port = free_port()
    try:
        run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust",
                         "--encoding=UTF8", "--locale=C.UTF-8"))  # fmt: skip
        conf = (POSTGRES_DIR / "postgresql-hardening.conf").read_text()
        (data / "db" / "conf.d.conf").write_text(conf)
        with (data / "db" / "postgresql.conf").open("a") as handle:
            handle.write(f"include = 'conf.d.conf'\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
                         f"unix_socket_directories = '{data}'\n")  # fmt: skip
        run(_as_postgres("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                         "/CN=localhost", "-keyout", str(data / "db" / "server.key"),
                         "-out", str(data / "db" / "server.crt")))  # fmt: skip
        os.chmod(data / "db" / "server.key", 0o600)
        run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w", "start"))
        try:
            base = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
            got = run(["psql", "-X", "-tA", f"{base} sslmode=require", "-c",
                       "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"]).stdout.strip()  # fmt: skip
            assert got.startswith("t|TLSv1.")
            assert got.split("|")[1] in ("TLSv1.2", "TLSv1.3")
            query = "SELECT current_setting('ssl_min_protocol_version'), current_setting('password_encryption')"
            settings = run(["psql", "-X", "-tA", f"{base} sslmode=require", "-c", query])
            assert settings.stdout.strip() == "TLSv1.2|scram-sha-256"
            old = run(["openssl", "s_client", "-starttls", "postgres", "-connect", f"127.0.0.1:{port}",
                       "-tls1_1"], check=False, timeout=30)  # fmt: skip
            assert "Cipher is (NONE)" in old.stdout or old.returncode != 0
        finally:
            run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop"), check=False)
    finally:
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
def test_continuum_serves_through_pgbouncer_in_transaction_mode(tmp_path: Path) -> None:
    shipped = configparser.ConfigParser()
    shipped.read(POSTGRES_DIR / "pgbouncer.ini")
    assert shipped["pgbouncer"]["pool_mode"] == "transaction"
    work = Path(tempfile.mkdtemp(prefix="ctm-pgb-"))
    shutil.chown(work, "postgres", "postgres") if os.geteuid() == 0 else None
    with throwaway_database() as (app, db):
        port = free_port()
        config = configparser.ConfigParser()
        config.read(POSTGRES_DIR / "pgbouncer.ini")
        # The shipped file, pointed at this machine: its own database line, port and files.
        config.remove_option("databases", "continuum")
        config["databases"][db] = f"host=127.0.0.1 port=5432 dbname={db}"
        config["pgbouncer"].update({
            "listen_addr": "127.0.0.1", "listen_port": str(port), "auth_type": "trust",
            "auth_file": str(work / "userlist.txt"), "unix_socket_dir": str(work),
            "logfile": str(work / "pgbouncer.log"), "pidfile": str(work / "pgbouncer.pid"),
            "server_tls_sslmode": "disable",
        })  # fmt: skip
        (work / "userlist.txt").write_text(f'"{app}" ""\n')
        with (work / "pgbouncer.ini").open("w") as handle:
            config.write(handle)
        for path in work.iterdir():
            shutil.chown(path, "postgres", "postgres") if os.geteuid() == 0 else None
        bouncer = subprocess.Popen(_as_postgres(tool("pgbouncer"), str(work / "pgbouncer.ini")),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        server = None
        try:
            time.sleep(0.5)
            api_port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTINUUM_", "POSTGRES_", "REDIS_"))}
            env.update({"POSTGRES_URL": url(app, db, str(port)), "CONTINUUM_LOG_LEVEL": "WARNING",
                        "PYTHONPATH": str(REPO / "shared")})  # fmt: skip
            server = subprocess.Popen([os.sys.executable, "-m", "continuum.cli.main", "serve", "--port", str(api_port)],
                                      env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                      stderr=(tmp_path / "server.log").open("wb"))  # fmt: skip
            health = wait_for(f"http://127.0.0.1:{api_port}/v1/health", timeout=60)
            assert health.json()["checks"]["database"] == "ok"
            with client(f"http://127.0.0.1:{api_port}") as http:
                store_learn_recall_search(http)
            pools = run(_as_postgres("psql", "-X", "-tA", "-h", str(work), "-p", str(port), "-U", app, "-d", db,
                                     "-c", "SELECT 1"), check=False)  # fmt: skip
            assert pools.returncode == 0, pools.stderr
        finally:
            if server:
                server.terminate()
                server.wait(timeout=30)
            bouncer.terminate()
            bouncer.wait(timeout=30)
            shutil.rmtree(work, ignore_errors=True)
