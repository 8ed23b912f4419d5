"""A primary and a streaming hot standby of our own, for read-replica tests and benches.

Both run from the machine's PostgreSQL binaries under temporary directories on free
ports (as the `postgres` OS user when we are root); the standby is a `pg_basebackup -R`
copy of the primary that streams its WAL. The shared server on 5432 is never touched.
Replication lag is injected by pausing replay on the standby.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from tests.support.pg import PrivateCluster

DATABASE = "continuum_replicated"


@dataclass
class ReplicatedPostgres:
    primary: PrivateCluster
    standby: PrivateCluster

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary.port}/{DATABASE}"

    @property
    def standby_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.standby.port}/{DATABASE}"

    def standby_sql(self, sql: str, *, app_database: bool = False) -> list[tuple]:
        url = self.standby_url if app_database else self.standby.admin_url
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def primary_sql(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.primary.admin_url, autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def pause_replay(self) -> None:
        self.standby_sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.standby_sql("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("standby replay did not pause")
            time.sleep(0.02)

    def resume_replay(self) -> None:
        self.standby_sql("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        target = self.primary_sql("SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.standby_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if rows[0][0]:
                return
            time.sleep(0.05)
        raise TimeoutError("standby did not catch up")

    def standby_app_queries(self) -> list[str]:
        """The last statement of each application connection on the standby (its own
        view, pg_stat_activity): what the server ran there."""
        rows = self.standby_sql(
            f"SELECT query FROM pg_stat_activity WHERE datname = '{DATABASE}' AND application_name = 'continuum-read'"
        )
        return [row[0] for row in rows]

    def stop_standby(self) -> None:
        self.standby.stop("immediate")

    def start_standby(self) -> None:
        self.standby.start()
        self.standby.wait_ready()

    def destroy(self) -> None:
        self.standby.destroy()
        self.primary.destroy()


def start_replicated() -> ReplicatedPostgres:
    primary = PrivateCluster().init()
    conf = primary.data_dir / "postgresql.conf"  # type: ignore[operator]
    with open(conf, "a") as handle:
        handle.write("wal_level = replica\nhot_standby = on\nmax_wal_senders = 5\nsynchronous_commit = on\n")
    primary.start()
    primary.wait_ready()
    with psycopg.connect(primary.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    standby = PrivateCluster()
    try:
        standby._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data_dir), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        with open(standby.data_dir / "postgresql.conf", "a") as handle:  # type: ignore[operator]
            handle.write("hot_standby = on\nmax_standby_streaming_delay = 30s\n")
        standby.start()
        standby.wait_ready()
    except BaseException:
        standby.destroy()
        primary.destroy()
        raise
    replicated = ReplicatedPostgres(primary, standby)
    with contextlib.suppress(Exception):
        replicated.wait_caught_up()
    return replicated


@contextlib.contextmanager
def replicated_postgres() -> Iterator[ReplicatedPostgres]:
    replicated = start_replicated()
    try:
        yield replicated
    finally:
        replicated.destroy()
