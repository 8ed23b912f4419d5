"""The REAL local D1 of wrangler (miniflare/workerd), as a Python D1 binding.

`tests/workers/d1_bridge.mjs` opens the D1 binding of a wrangler config the way wrangler
does for local development (miniflare, persisted like `--persist-to DIR`) and answers JSON
lines; each call runs D1's own JS API inside workerd. `LocalD1` offers the binding's API
(`prepare().bind().all()/first()/run()/raw()`, `batch()`, `exec()`) over it, so the
D1 adapter runs unchanged against the real D1 engine. Values cross the way they cross
in Pyodide: `None` is JavaScript `undefined`, `JS_NULL` is `null`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from continuum.storage.d1.boundary import JS_NULL
from continuum.storage.d1.scripts import split_statements
from continuum.storage.sql.migrate import load_migrations
from tests.support.workers_env import REPO, node_binary

BRIDGE = REPO / "tests" / "workers" / "d1_bridge.mjs"
CONFIG = REPO / "wrangler" / "wrangler.toml"


class D1BridgeError(Exception):
    """A rejected D1 call, with D1's own message."""


def _encode(value: Any) -> Any:
    if value is None:
        return {"$undefined": True}
    if value is JS_NULL:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": list(bytes(value))}
    if isinstance(value, dict | list | tuple | set):
        return {"$object": {"value": str(value)}}
    return value


def _decode(value: Any) -> Any:
    if value is None:
        return JS_NULL
    if isinstance(value, dict):
        if value.get("$undefined") is True and len(value) == 1:
            return None
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class _Statement:
    def __init__(self, db: LocalD1, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._db, self._sql, self._params = db, sql, params

    def bind(self, *values: Any) -> _Statement:
        return _Statement(self._db, self._sql, values)

    def _wire(self) -> dict[str, Any]:
        return {"sql": self._sql, "params": [_encode(v) for v in self._params]}

    async def all(self) -> Any:
        return self._db.call("all", **self._wire())

    async def run(self) -> Any:
        return self._db.call("run", **self._wire())

    async def first(self, column: str | None = None) -> Any:
        return self._db.call("first", column=column, **self._wire())

    async def raw(self, columnNames: bool = False) -> Any:
        return self._db.call("raw", columnNames=columnNames, **self._wire())


class LocalD1:
    """One bridge process, one local D1 database persisted under `state_dir` (the directory
    `wrangler d1 migrations apply --local --persist-to` uses)."""

    def __init__(self, state_dir: str | Path | None = None, *, config: Path = CONFIG) -> None:
        self._owned = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="continuum-d1-"))
        self._lock = threading.Lock()
        self._next = 0
        env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true"}
        self.proc = subprocess.Popen(
            [node_binary(), str(BRIDGE), "--config", str(config), "--persist-to", str(self.state_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env, cwd=str(config.parent),
        )  # fmt: skip
        first = self.proc.stdout.readline() if self.proc.stdout else ""
        if not first.strip().startswith('{"ready"'):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.close()
            raise RuntimeError(f"D1 bridge did not start: {first!r} {err[-2000:]}")

    def call(self, op: str, **fields: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self._next += 1
            request = {"id": self._next, "op": op, **fields}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"D1 bridge exited: {self.proc.stderr.read()[-2000:] if self.proc.stderr else ''}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise D1BridgeError(answer["error"])
        return _decode(answer["value"])

    # ---- the binding's API ------------------------------------------------------------

    def prepare(self, sql: str) -> _Statement:
        return _Statement(self, sql)

    async def batch(self, statements: Sequence[_Statement]) -> Any:
        return self.call("batch", statements=[s._wire() for s in statements])

    async def exec(self, sql: str) -> Any:
        return self.call("exec", sql=sql)

    # ---- test helpers -----------------------------------------------------------------

    def reset(self) -> None:
        """Drop every table, view and trigger of ours (D1's own `_cf_*` tables stay)."""
        rows = self.call(
            "all",
            sql="SELECT type, name, coalesce(sql, '') AS sql FROM sqlite_master "
            "WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'd1_migrations'",
            params=[],
        )["results"]

        def order(row: dict[str, Any]) -> int:
            if row["type"] == "trigger":
                return 0
            return 1 if row["sql"].upper().startswith("CREATE VIRTUAL TABLE") else 2

        for row in sorted(rows, key=order):
            # FTS shadow tables disappear with their virtual table; IF EXISTS skips them.
            with contextlib.suppress(D1BridgeError):
                self.call("run", sql=f'DROP {row["type"].upper()} IF EXISTS "{row["name"]}"', params=[])
        for table in ("d1_migrations", "sqlite_sequence"):
            with contextlib.suppress(D1BridgeError):
                self.call("run", sql=f"DELETE FROM {table}", params=[])

    def apply_schema(self) -> None:
        """The migrations, statement by statement (what `wrangler d1 migrations apply` runs)."""
        for migration in load_migrations("sqlite"):
            for sql in split_statements(migration.sql):
                self.call("run", sql=sql, params=[])

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                if self.proc.stdin:
                    self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        if self._owned:
            shutil.rmtree(self.state_dir, ignore_errors=True)
