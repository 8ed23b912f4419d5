"""The command line, run as a user runs it: a subprocess in a fresh folder with real files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.support.servers import clean_env


@pytest.fixture
def run(tmp_path):
    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None, check: bool = True):
        result = subprocess.run(
            [sys.executable, "-m", "continuum.cli.main", *args], cwd=tmp_path, env=clean_env(env or {}),
            capture_output=True, text=True, input=input, timeout=120,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    return invoke


def test_full_local_workflow(run, tmp_path):
    assert "applied 0001_init" in run("init").stdout
    assert (tmp_path / "data" / "memory.db").is_file()
    assert "up to date" in run("init").stdout
    learned = run("learn", "--user", "I decided to host Orion on Fly.io", "--ai", "Fly.io suits Orion", "--json")
    assert len(json.loads(learned.stdout)["memory_ids"]) == 2
    assert "Orion" in run("recall", "where is Orion hosted?").stdout
    search = json.loads(run("search", "Fly.io", "--json").stdout)
    assert len(search["results"]) == 2
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["memories"] == 2 and stats["decisions"] == 1

    exported = run("export", "-o", "out.jsonl")
    assert "exported" in exported.stderr
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header" and len(lines) > 5
    run("import", "out.jsonl", "--tenant", "copy")
    assert json.loads(run("stats", "--tenant", "copy", "--json").stdout)["memories"] == 2

    run("backup", "snapshot.db")
    run("learn", "--user", "This turn happens after the backup")
    assert json.loads(run("stats", "--json").stdout)["memories"] == 3
    run("restore", "snapshot.db", "--yes")
    assert json.loads(run("stats", "--json").stdout)["memories"] == 2

    key = run("keys", "create", "--tenant", "acme").stdout.strip()
    assert key.startswith("ck_")
    stored = (
        sqlite3.connect(tmp_path / "data" / "memory.db").execute("SELECT key_hash, tenant_id FROM api_keys").fetchall()
    )
    assert all(key not in row[0] for row in stored) and ("acme" in {row[1] for row in stored})

    doctor = run("doctor")
    assert "database" in doctor.stdout and "FAIL" not in doctor.stdout
    assert "pending: none" in run("migrate", "--status").stdout


def test_db_path_option_and_env(run, tmp_path):
    run("init", "--db-path", "elsewhere/mem.db")
    assert (tmp_path / "elsewhere" / "mem.db").is_file()
    run("learn", "--user", "Kept in the other file", env={"CONTINUUM_DB_PATH": "elsewhere/mem.db"})
    count = sqlite3.connect(tmp_path / "elsewhere" / "mem.db").execute("SELECT count(*) FROM memories").fetchone()
    assert count == (1,)


def test_bad_setting_stops_with_one_line(run):
    result = run("stats", env={"CONTINUUM_CACHE_TTL": "soon"}, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["Error: invalid CONTINUUM_CACHE_TTL='soon': must be an integer"]


def test_bad_arguments_are_clear(run, tmp_path):
    result = run("recall", "   ", check=False)
    assert result.returncode == 2 and "message" in result.stderr and "Traceback" not in result.stderr
    result = run("keys", "create", "--tenant", "bad tenant!", check=False)
    assert result.returncode == 2 and "--tenant" in result.stderr
    (tmp_path / "broken.jsonl").write_text('{"type": "memory", "id": "x"}\n')
    result = run("import", "broken.jsonl", check=False)
    assert result.returncode == 1 and "import line 1" in result.stderr and "Traceback" not in result.stderr
    result = run("restore", "missing.db", "--yes", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_doctor_reports_failures(run):
    result = run("doctor", env={"POSTGRES_URL": "postgresql://nobody@127.0.0.1:1/none"}, check=False)
    assert result.returncode == 1 and "FAIL" in result.stdout and "database" in result.stdout


def test_remote_mode_talks_http(run, tmp_path):
    from tests.support.servers import SqliteTarget

    server = SqliteTarget().start(require_api_key=True)
    try:
        tenant_id, client = server.new_tenant()
        key = client.headers["X-API-Key"]
        client.close()
        env = {"CONTINUUM_URL": server.url}
        run("learn", "--user", "Remote turn about Vega", "--api-key", key, env=env)
        stats = json.loads(run("stats", "--json", "--api-key", key, env=env).stdout)
        assert stats["tenant_id"] == tenant_id and stats["memories"] == 1
        assert "Vega" in run("search", "Vega", "--api-key", key, env=env).stdout
        denied = run("stats", "--api-key", "ck_wrong", env=env, check=False)
        assert denied.returncode == 1 and "401" in denied.stderr
        admin = ["--api-key", server.admin_key]
        reader = json.loads(run("keys", "create", "--tenant", tenant_id, "--scope", "read", "--json", *admin,
                                env=env).stdout)  # fmt: skip
        assert reader["scopes"] == ["read"]
        refused = run("learn", "--user", "a read key tries to write", "--api-key", reader["api_key"], env=env,
                      check=False)  # fmt: skip
        assert refused.returncode == 1 and "403" in refused.stderr
        listed = json.loads(run("keys", "list", "--tenant", tenant_id, "--json", *admin, env=env).stdout)
        assert [k["scopes"] for k in listed] == [["read", "write"], ["read"]]
        run("keys", "revoke", reader["id"], "--tenant", tenant_id, *admin, env=env)
        listed = json.loads(run("keys", "list", "--tenant", tenant_id, "--json", *admin, env=env).stdout)
        assert listed[1]["status"] == "revoked" and reader["api_key"] not in json.dumps(listed)
    finally:
        server.stop()
    assert not os.path.exists(tmp_path / "data")  # remote mode never touched a local database


def test_remote_mode_without_a_server_fails_in_one_line(run):
    from tests.support.servers import free_port

    gone = run("stats", "--url", f"http://127.0.0.1:{free_port()}", check=False)
    assert gone.returncode == 1 and "cannot reach the server" in gone.stderr and "Traceback" not in gone.stderr
    odd = run("search", "x", "--url", "localhost:8420", check=False)
    assert odd.returncode == 2 and "--url" in odd.stderr and "http://" in odd.stderr


def test_keys_with_scopes_expiry_listing_and_revocation(run):
    created = json.loads(run("keys", "create", "--tenant", "acme", "--scope", "read", "--expires", "2h",
                             "--name", "dashboard", "--json").stdout)  # fmt: skip
    assert created["api_key"].startswith("ck_") and created["scopes"] == ["read"] and created["expires_at"]
    plain = run("keys", "create", "--tenant", "acme", "--expires", "2031-01-01T00:00:00Z")
    assert plain.stdout.strip().startswith("ck_") and "not shown again" in plain.stderr
    listed = json.loads(run("keys", "list", "--tenant", "acme", "--json").stdout)
    assert [(k["name"], k["scopes"], k["status"]) for k in listed] == [
        ("dashboard", ["read"], "active"), (None, ["read", "write"], "active"),
    ]  # fmt: skip
    assert created["api_key"] not in json.dumps(listed) and "api_key" not in listed[0]
    assert "revoked key" in run("keys", "revoke", created["id"], "--tenant", "acme").stdout
    assert "revoked" in run("keys", "list", "--tenant", "acme").stdout.splitlines()[0]
    missing = run("keys", "revoke", created["id"], "--tenant", "elsewhere", check=False)
    assert missing.returncode == 1 and "no key" in missing.stderr and "Traceback" not in missing.stderr
    for bad in ("soon", "2031-01-01T00:00:00"):
        result = run("keys", "create", "--tenant", "acme", "--expires", bad, check=False)
        assert result.returncode == 2 and "--expires" in result.stderr
    past = run("keys", "create", "--tenant", "acme", "--expires", "2020-01-01T00:00:00Z", check=False)
    assert past.returncode == 1 and "future" in past.stderr
