"""A TCP forwarder to cut one process's link to a dependency (and heal it) while
everything else keeps reaching the dependency directly.

It listens on a fixed local port and pipes every connection to the target. `cut()`
stops listening and closes every live connection (the client sees its connections die
and new ones refused); `heal()` listens again on the same port. It runs its own event
loop in a daemon thread, so synchronous tests drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

from tests.support.pg import free_port


class TcpForwarder:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", port: int | None = None) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-forwarder", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, target_writer}
        try:
            await asyncio.gather(self._pipe(client_reader, target_writer), self._pipe(target_reader, client_writer))
        finally:
            self._writers -= {client_writer, target_writer}

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()  # a reset, as a broken link looks to the client
        self._writers.clear()

    def start(self) -> None:
        self._run(self._listen())

    def heal(self) -> None:
        self._run(self._listen())

    def cut(self) -> None:
        self._run(self._close())

    def stop(self) -> None:
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
