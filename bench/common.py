"""Helpers shared by the benchmarks: a throwaway server, percentiles, tables."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def wait_ready(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy in {timeout}s")


@contextlib.contextmanager
def local_server(extra_env: dict[str, str] | None = None, source: Path | None = None) -> Iterator[tuple[str, str]]:
    """`continuum serve` on a temporary SQLite file; yields (url, admin key).
    `source`: another checkout whose `shared/` code the server runs (before/after comparisons)."""
    admin_key = "bench-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="continuum-bench-") as folder:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
        env.update(
            CONTINUUM_DB_PATH=str(Path(folder) / "bench.db"),
            CONTINUUM_REQUIRE_API_KEY="true",
            CONTINUUM_API_KEY=admin_key,
            CONTINUUM_LOG_LEVEL="WARNING",
            CONTINUUM_CACHE_ENABLED="false",
        )
        env.update(extra_env or {})
        if source is not None:
            env["PYTHONPATH"] = str(Path(source).resolve() / "shared")
        proc = subprocess.Popen(
            [sys.executable, "-m", "continuum.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc=proc)
            yield url, admin_key
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
