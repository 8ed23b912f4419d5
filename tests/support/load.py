"""Concurrent clients against a real server, remembering every write it acknowledged.

`Load` runs `clients` threads, each with its own connection, cycling through writes
(one memory, a batch, a learned exchange) and, when asked, reads (recall, search, list,
get). Every 2xx write is recorded with the contents it stored; every answer is counted by
status; a 503 must carry Retry-After; anything else unexpected is a problem. After the
load, `missing_writes` reads the tenant's export and lists every acknowledged id that is
absent or holds other content.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.support.servers import ServerProcess

WRITES = ("memory", "batch", "learn")
READS = ("recall", "search", "list", "get")


@dataclass
class Tally:
    """What the clients saw, merged under one lock."""

    acknowledged: dict[str, str | None] = field(default_factory=dict, repr=False)  # id -> content (None: not tracked)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list, repr=False)  # each answered request's latency
    answers: list[tuple[float, int]] = field(default_factory=list, repr=False)  # (time.monotonic() answered, status)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + len(self.transport_errors)


class Load:
    def __init__(
        self, url: str, api_key: str, *, clients: int = 4, reads: bool = False, label: str = "load",
        ok_statuses: tuple[int, ...] = (200, 201, 204, 503), timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self.url, self.api_key, self.label = url, api_key, label
        self.operations = WRITES + READS if reads else WRITES
        self.ok_statuses = ok_statuses
        self.timeout = timeout
        self.tally = Tally()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def wait_for_acknowledged(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.tally.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.tally.acknowledged)} writes acknowledged"
            time.sleep(0.05)

    def statuses_since(self, moment: float) -> Counter[int]:
        """Statuses of the requests answered since `moment` (time.monotonic())."""
        seen: Counter[int] = Counter()
        with self.tally.lock:
            for at, status in reversed(self.tally.answers):
                if at < moment:
                    break
                seen[status] += 1
        return seen

    # ---- one client --------------------------------------------------------------------

    def _client(self, number: int) -> None:
        headers = {"X-API-Key": self.api_key}
        with httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout) as client:
            step = 0
            while not self.stopping.is_set():
                operation = self.operations[(number + step) % len(self.operations)]
                step += 1
                try:
                    self._run(client, operation, f"{self.label} c{number} s{step}", time.perf_counter())
                except httpx.HTTPError as exc:
                    with self.tally.lock:
                        self.tally.transport_errors.append(f"{operation}: {type(exc).__name__}: {exc}")
                    time.sleep(0.05)

    def _run(self, client: httpx.Client, operation: str, stamp: str, began: float) -> None:
        stored: dict[str, str | None] = {}
        if operation == "memory":
            content = f"{stamp}: a single memory"
            response = client.post("/v1/memories", json={"content": content, "metadata": {"stamp": stamp}})
            if response.status_code in (200, 201):
                stored[response.json()["id"]] = content
        elif operation == "batch":
            contents = [f"{stamp}: batch item {i}" for i in range(3)]
            response = client.post("/v1/memories/batch", json={"memories": [{"content": c} for c in contents]})
            if response.status_code == 200:
                results = response.json()["results"]
                stored.update({r["id"]: c for r, c in zip(results, contents, strict=True)})
        elif operation == "learn":
            exchange = {"user_message": f"{stamp}: where is Ostrava?", "ai_response": "Ostrava is in Czechia."}
            response = client.post("/v1/learn", json=exchange)
            if response.status_code == 200:
                stored.update(dict.fromkeys(response.json()["memory_ids"]))
        elif operation == "recall":
            response = client.post("/v1/recall", json={"message": "Where is Ostrava?"})
        elif operation == "search":
            response = client.post("/v1/search", json={"query": "batch item memory", "limit": 5})
        elif operation == "list":
            response = client.get("/v1/memories", params={"limit": 5})
        else:
            with self.tally.lock:
                known = next(iter(self.tally.acknowledged), None)
            response = client.get(f"/v1/memories/{known}") if known else client.get("/v1/stats")
        self._record(operation, response, stored, time.perf_counter() - began)

    def _record(self, operation: str, response: httpx.Response, stored: dict[str, str | None], took: float) -> None:
        with self.tally.lock:
            self.tally.statuses[response.status_code] += 1
            self.tally.seconds.append(took)
            self.tally.answers.append((time.monotonic(), response.status_code))
            self.tally.acknowledged.update(stored)
            if response.status_code not in self.ok_statuses:
                self.tally.problems.append(f"{operation}: {response.status_code} {response.text[:200]}")
            elif response.status_code == 503 and not response.headers.get("Retry-After"):
                self.tally.problems.append(f"{operation}: 503 without Retry-After")
        if response.status_code == 503:
            time.sleep(0.05)


def exported_memories(client: httpx.Client) -> dict[str, str]:
    response = client.get("/v1/export", timeout=120)
    response.raise_for_status()
    lines = (json.loads(line) for line in response.text.splitlines() if line.strip())
    return {line["id"]: line["content"] for line in lines if line["type"] == "memory"}


def missing_writes(client: httpx.Client, acknowledged: dict[str, str | None]) -> list[str]:
    """Acknowledged ids absent from the tenant's export, or stored with other content."""
    present = exported_memories(client)
    return [
        f"{memory_id}: {'absent' if memory_id not in present else 'content differs'}"
        for memory_id, content in acknowledged.items()
        if memory_id not in present or (content is not None and present[memory_id] != content)
    ]


def kill_group(process: ServerProcess) -> None:
    """SIGKILL a server's whole process group (uvicorn and any workers): a crash."""
    proc = process.proc
    assert proc is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
