"""A test server speaking the Upstash Redis REST protocol, in front of a real redis-server.

Nothing installable here serves that protocol faithfully, so this does, following the
documented behaviour the `upstash-redis` client relies on:

- `POST /` with a JSON array (`["SET", "k", "v", "EX", 100]`) runs one command and
  answers `{"result": ...}`; a command error is HTTP 400 `{"error": "..."}`.
- `POST /pipeline` with a 2-D array runs the commands in order (not atomically) and
  answers a list of `{"result"}` / `{"error"}`.
- `POST /multi-exec` runs them in one MULTI/EXEC transaction (atomic).
- `GET|POST /cmd/arg/...` runs a command given in the path.
- `Authorization: Bearer <token>` is required (401 otherwise).
- With `Upstash-Encoding: base64`, every string in a result is base64 except "OK".

Commands go to redis-server over a small RESP2 client of its own (so simple strings and
bulk strings stay distinct, as Upstash needs). Commands that could harm a shared
redis-server (FLUSHALL, CONFIG, SHUTDOWN, SELECT, ...) are refused.

    python -m tests.support.upstash_server --port 8079 --redis redis://127.0.0.1:6379/0 --token T
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REFUSED = frozenset(
    {
        "FLUSHALL", "FLUSHDB", "SHUTDOWN", "CONFIG", "DEBUG", "SAVE", "BGSAVE", "BGREWRITEAOF",
        "REPLICAOF", "SLAVEOF", "MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "SELECT",
        "MIGRATE", "MODULE", "CLIENT", "ACL", "SWAPDB", "FAILOVER", "SYNC", "PSYNC", "QUIT",
        "RESET", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "BLPOP", "BRPOP", "BLMOVE",
        "BZPOPMIN", "BZPOPMAX", "XREAD", "XREADGROUP", "WAIT",
    }
)  # fmt: skip


class RespError(Exception):
    """An error reply from redis-server (`-ERR ...`)."""


@dataclass
class Simple:
    """A RESP simple string (`+OK`), as opposed to a bulk string."""

    text: str


class RespConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int, db: int, password: str | None) -> RespConnection:
        reader, writer = await asyncio.open_connection(host, port)
        conn = cls(reader, writer)
        if password:
            await conn.call(["AUTH", password])
        if db:
            await conn.call(["SELECT", str(db)])
        return conn

    @staticmethod
    def encode(args: list[Any]) -> bytes:
        out = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            out.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
        return b"".join(out)

    async def send(self, commands: list[list[Any]]) -> None:
        self.writer.write(b"".join(self.encode(c) for c in commands))
        await self.writer.drain()

    async def read(self) -> Any:
        """One reply; an error reply inside an array is returned as a RespError value."""
        line = (await self.reader.readuntil(b"\r\n"))[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return Simple(rest.decode("utf-8", "replace"))
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = await self.reader.readexactly(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            return [await self.read() for _ in range(count)]
        raise ConnectionError(f"unexpected reply from redis-server: {line[:40]!r}")

    async def call(self, args: list[Any]) -> Any:
        await self.send([args])
        reply = await self.read()
        if isinstance(reply, RespError):
            raise reply
        return reply

    def close(self) -> None:
        self.writer.close()


@dataclass
class Backend:
    """redis-server connections, reused between requests."""

    host: str
    port: int
    db: int = 0
    password: str | None = None
    idle: list[RespConnection] = field(default_factory=list)

    @classmethod
    def from_url(cls, url: str) -> Backend:
        parsed = urlparse(url)
        db = int(parsed.path.strip("/") or 0)
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 6379, db, unquote(parsed.password or "") or None)

    @contextlib.asynccontextmanager
    async def connection(self) -> Any:
        conn = self.idle.pop() if self.idle else await RespConnection.open(self.host, self.port, self.db, self.password)
        try:
            yield conn
        except RespError:
            self.idle.append(conn)  # a complete error reply: the stream is still in step
            raise
        except BaseException:
            conn.close()  # its reply stream may be out of step now
            raise
        self.idle.append(conn)


def _encode(value: Any, b64: bool) -> Any:
    if isinstance(value, Simple):
        return value.text if (not b64 or value.text == "OK") else base64.b64encode(value.text.encode()).decode()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode() if b64 else value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_encode(v, b64) for v in value]
    return value  # int or None


def _command(raw: Any) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise RespError("ERR a command is a non-empty JSON array")
    for part in raw:
        if isinstance(part, bool) or not isinstance(part, str | int | float):
            raise RespError("ERR command arguments must be strings or numbers")
    if str(raw[0]).upper() in REFUSED:
        raise RespError(f"ERR command {str(raw[0]).upper()} is not allowed by this server")
    return raw


def create_app(redis_url: str, token: str) -> Starlette:
    backend = Backend.from_url(redis_url)

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {token}"

    def wants_base64(request: Request) -> bool:
        return request.headers.get("upstash-encoding", "").lower() == "base64"

    async def body(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            raise RespError("ERR request body is not valid JSON") from None

    async def run_one(command: list[Any], b64: bool) -> JSONResponse:
        try:
            async with backend.connection() as conn:
                reply = await conn.call(_command(command))
        except RespError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"result": _encode(reply, b64)})

    async def single(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        b64 = wants_base64(request)
        path = [unquote(p) for p in request.url.path.strip("/").split("/") if p]
        try:
            command = path if path else await body(request)
            if path and request.method == "POST":
                extra = (await request.body()).decode("utf-8")
                if extra:
                    command = [*path, extra]
        except RespError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return await run_one(command, b64)

    async def pipeline(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        b64 = wants_base64(request)
        try:
            commands = await body(request)
            if not isinstance(commands, list) or not commands:
                raise RespError("ERR a pipeline is a non-empty JSON array of commands")
            checked = [_command(c) for c in commands]
        except RespError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        async with backend.connection() as conn:
            await conn.send(checked)
            replies = [await conn.read() for _ in checked]
        return JSONResponse(
            [{"error": str(r)} if isinstance(r, RespError) else {"result": _encode(r, b64)} for r in replies]
        )

    async def multi_exec(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        b64 = wants_base64(request)
        try:
            commands = await body(request)
            if not isinstance(commands, list) or not commands:
                raise RespError("ERR a transaction is a non-empty JSON array of commands")
            checked = [_command(c) for c in commands]
        except RespError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        async with backend.connection() as conn:
            await conn.send([["MULTI"], *checked, ["EXEC"]])
            replies = [await conn.read() for _ in range(len(checked) + 2)]
        queued, result = replies[1:-1], replies[-1]
        if isinstance(result, RespError) or result is None:
            reason = next((str(r) for r in queued if isinstance(r, RespError)), str(result or "EXECABORT"))
            return JSONResponse({"error": reason}, status_code=400)
        return JSONResponse(
            [{"error": str(r)} if isinstance(r, RespError) else {"result": _encode(r, b64)} for r in result]
        )

    routes = [
        Route("/pipeline", pipeline, methods=["POST"]),
        Route("/multi-exec", multi_exec, methods=["POST"]),
        Route("/", single, methods=["POST"]),
        Route("/{path:path}", single, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


# ---- running it as a process ------------------------------------------------------------


@dataclass
class UpstashServer:
    """`python -m tests.support.upstash_server` as a child process (tests can kill it)."""

    redis_url: str
    port: int
    token: str
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        repo = Path(__file__).resolve().parents[2]
        log = open(self.workdir / f"upstash-{self.port}.log", "ab")  # noqa: SIM115 - owned by the child
        env = {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.upstash_server", "--port", str(self.port),
             "--redis", self.redis_url, "--token", self.token],
            cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"upstash test server exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                reply = httpx.post(
                    self.url, json=["PING"], headers={"Authorization": f"Bearer {self.token}"}, timeout=1
                )
                if reply.status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"upstash test server not ready on {self.url}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--token", default=os.environ.get("UPSTASH_TEST_TOKEN", "test-token"))
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(create_app(args.redis, args.token), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
