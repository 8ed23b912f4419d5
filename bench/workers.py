"""Workers path vs local server: recall and search latency on the same data, in one run.

Both servers get the same LoCoMo conversation (one tenant, every turn a memory, through
the batch endpoint); then each question is asked as POST /v1/recall and POST /v1/search
to both, alternating, so machine noise lands on both sides. The result cache is off on
both, so every call reaches the database.

- local:   `continuum serve` (uvicorn, CPython) on a SQLite file
- harness: `wrangler/serve-local` - the real Worker entry in Pyodide on Node, through the
           workers SDK's ASGI adapter, on wrangler's local D1 (miniflare/workerd)

The harness is not production speed (Pyodide in Node, D1 over a local socket); the ratio
shows what the Worker path adds on the same machine.

    .venv/bin/python bench/workers.py                     # conversation 26, 100 questions
    .venv/bin/python bench/workers.py --conversation 30 --questions 50
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, local_server, percentile, table
from locomo import load_conversation

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bench" / "locomo"


@contextlib.contextmanager
def harness_server(timeout: float = 300.0) -> Iterator[tuple[str, str]]:
    """`wrangler/serve-local` on a fresh local D1; yields (url, admin key)."""
    admin_key = "bench-" + secrets.token_hex(16)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTINUUM_", "UPSTASH_"))}
    env.update(
        CONTINUUM_REQUIRE_API_KEY="true", CONTINUUM_API_KEY=admin_key, CONTINUUM_LOG_LEVEL="WARNING",
        CONTINUUM_CACHE_ENABLED="false",
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="continuum-bench-workers-") as folder:
        log = open(Path(folder) / "serve-local.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [str(REPO / "wrangler" / "serve-local"), str(port), "--persist-to", str(Path(folder) / "d1")],
            env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while True:
                if time.monotonic() > deadline or proc.poll() is not None:
                    log_text = (Path(folder) / "serve-local.log").read_text()[-3000:]
                    raise RuntimeError(f"serve-local did not get ready:\n{log_text}")
                ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                if ready and proc.stdout.readline().startswith(b"READY"):
                    break
            yield f"http://127.0.0.1:{port}", admin_key
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()


def tenant_client(url: str, admin_key: str) -> httpx.Client:
    with httpx.Client(base_url=url, headers={"X-API-Key": admin_key}, timeout=120) as admin:
        key = admin.post("/v1/keys", json={"tenant_id": "bench"}).raise_for_status().json()["api_key"]
    return httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120)


def load(client: httpx.Client, memories: list[dict]) -> float:
    started = time.perf_counter()
    for start in range(0, len(memories), 100):
        client.post("/v1/memories/batch", json={"memories": memories[start : start + 100]}).raise_for_status()
    return time.perf_counter() - started


def timed(client: httpx.Client, path: str, body: dict) -> float:
    started = time.perf_counter()
    client.post(path, json=body).raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversation", default="26")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    memories, questions = load_conversation(DATA / f"{args.conversation}.json")
    questions = questions[: args.questions]
    timings: dict[tuple[str, str], list[float]] = {}
    started = time.perf_counter()
    with harness_server() as (harness_url, harness_key), local_server() as (local_url, local_key):
        harness_ready = time.perf_counter() - started
        clients = {"local": tenant_client(local_url, local_key), "harness": tenant_client(harness_url, harness_key)}
        load_seconds = {name: load(client, memories) for name, client in clients.items()}
        for question in questions[: args.warmup]:
            for client in clients.values():
                timed(client, "/v1/recall", {"message": question["question"]})
                timed(client, "/v1/search", {"query": question["question"]})
        for question in questions:
            for path, body in (("/v1/recall", {"message": question["question"]}),
                               ("/v1/search", {"query": question["question"]})):  # fmt: skip
                for name, client in clients.items():
                    timings.setdefault((path, name), []).append(timed(client, path, body))
        for client in clients.values():
            client.close()

    rows, figures = [], {}
    for path in ("/v1/recall", "/v1/search"):
        local, harness = timings[(path, "local")], timings[(path, "harness")]
        p50 = (percentile(local, 50), percentile(harness, 50))
        p95 = (percentile(local, 95), percentile(harness, 95))
        rows.append([path, p50[0], p95[0], p50[1], p95[1], p50[1] / p50[0], p95[1] / p95[0]])
        figures[path] = {
            "local_p50_ms": p50[0], "local_p95_ms": p95[0], "harness_p50_ms": p50[1], "harness_p95_ms": p95[1],
            "ratio_p50": p50[1] / p50[0], "ratio_p95": p95[1] / p95[0],
        }  # fmt: skip
    print(
        f"LoCoMo conversation {args.conversation}: {len(memories)} memories, {len(questions)} questions, "
        f"each asked of both servers (result cache off)"
    )
    print(f"load (batch of 100): local {load_seconds['local']:.1f} s, harness {load_seconds['harness']:.1f} s; "
          f"harness ready after {harness_ready:.0f} s")  # fmt: skip
    print(table(["endpoint", "local p50 ms", "local p95 ms", "harness p50 ms", "harness p95 ms",
                 "ratio p50", "ratio p95"], rows))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"memories": len(memories), "questions": len(questions), **figures}, indent=2))


if __name__ == "__main__":
    main()
