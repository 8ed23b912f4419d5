"""Load benchmark: N concurrent clients for T seconds of mixed traffic against a real
`continuum serve` on loopback, then every acknowledged write is read back.

    .venv/bin/python bench/load.py --backend sqlite   --clients 8 --seconds 20
    .venv/bin/python bench/load.py --backend postgres --clients 8 --seconds 20

Each client is one keep-alive connection for one of --tenants tenants (seeded with
--seed memories first, off the clock) and loops over a fixed mix: store a memory, read
one back, list, learn, recall, search. Printed: throughput, latency percentiles per
operation and overall, answers by status (and transport errors), then the check that
every write answered 2xx is in its tenant's export with its content; the exit status is
non-zero when any request failed or any acknowledged write is missing.

Caches are on (the default). `postgres`: a throwaway database is created through
--postgres-admin-url and dropped afterwards; the result cache and Idempotency-Key store
use --redis-url under a unique key prefix, whose keys are deleted afterwards.
Bounded: at most 64 clients, 300 seconds and --max-requests requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, percentile, table, wait_ready

MIX = ("store", "read", "learn", "recall", "search", "store", "list", "search")
TOPICS = ("release", "invoice", "database", "cache", "budget", "roadmap", "incident", "backup", "latency", "design")
PEOPLE = ("Aurora", "Kim", "Ravi", "Lena", "Omar", "Zephyr", "Vega", "Nadia")


@dataclass
class Results:
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    acknowledged: dict[str, dict[str, str | None]] = field(default_factory=lambda: defaultdict(dict))  # tenant -> id


def _text(n: int) -> str:
    person, topic = PEOPLE[n % len(PEOPLE)], TOPICS[(n // 3) % len(TOPICS)]
    return f"{person} reviewed the {topic} plan, item {n}, and asked for the {TOPICS[n % len(TOPICS)]} numbers"


async def _one(client: httpx.AsyncClient, operation: str, tenant: str, n: int, results: Results) -> None:
    own = results.acknowledged[tenant]
    stored: dict[str, str | None] = {}
    if operation == "store":
        content = f"{_text(n)} (client write {n})"
        response = await client.post("/v1/memories", json={"content": content})
        if response.status_code in (200, 201):
            stored[response.json()["id"]] = content
    elif operation == "read":
        known = next(reversed(own), None) if own else None
        response = await client.get(f"/v1/memories/{known}" if known else "/v1/stats")
    elif operation == "list":
        response = await client.get("/v1/memories", params={"limit": 20})
    elif operation == "learn":
        exchange = {"user_message": f"{_text(n)}?", "ai_response": f"Noted: {PEOPLE[n % len(PEOPLE)]} asked."}
        response = await client.post("/v1/learn", json=exchange)
        if response.status_code == 200:
            stored.update(dict.fromkeys(response.json()["memory_ids"]))
    elif operation == "recall":
        response = await client.post("/v1/recall", json={"message": f"What did {PEOPLE[n % 8]} say about the budget?"})
    else:
        response = await client.post("/v1/search", json={"query": f"{TOPICS[n % 10]} {PEOPLE[(n // 10) % 8]}"})
    results.statuses[response.status_code] += 1
    own.update(stored)


async def _client(url: str, key: str, tenant: str, number: int, deadline: float, budget: list[int],
                  results: Results) -> None:  # fmt: skip
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        step = 0
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            operation = MIX[(number + step) % len(MIX)]
            step += 1
            began = time.perf_counter()
            try:
                await _one(client, operation, tenant, number * 1_000_000 + step, results)
            except httpx.HTTPError as exc:
                results.transport_errors[type(exc).__name__] += 1
                continue
            results.seconds[operation].append(time.perf_counter() - began)


async def _seed(url: str, key: str, tenant: str, count: int, results: Results) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=300) as client:
        for start in range(0, count, 500):
            contents = [_text(n) for n in range(start, min(count, start + 500))]
            response = await client.post("/v1/memories/batch", json={"memories": [{"content": c} for c in contents]})
            response.raise_for_status()
            for result, content in zip(response.json()["results"], contents, strict=True):
                results.acknowledged[tenant][result["id"]] = content


async def _verify(url: str, keys: dict[str, str], results: Results) -> list[str]:
    missing = []
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        for tenant, key in keys.items():
            response = await client.get("/v1/export", headers={"X-API-Key": key})
            response.raise_for_status()
            lines = (json.loads(line) for line in response.text.splitlines() if line.strip())
            present = {line["id"]: line["content"] for line in lines if line["type"] == "memory"}
            for memory_id, content in results.acknowledged[tenant].items():
                if memory_id not in present or (content is not None and present[memory_id] != content):
                    missing.append(f"{tenant}/{memory_id}")
    return missing


async def run(url: str, admin_key: str, args: argparse.Namespace) -> int:
    results = Results()
    keys: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": admin_key}, timeout=30) as admin:
        for number in range(args.tenants):
            tenant = f"load-{number}"
            response = await admin.post("/v1/keys", json={"tenant_id": tenant})
            response.raise_for_status()
            keys[tenant] = response.json()["api_key"]
    await asyncio.gather(*(_seed(url, key, tenant, args.seed, results) for tenant, key in keys.items()))
    tenants = list(keys)
    budget = [args.max_requests]
    began = time.monotonic()
    deadline = began + args.seconds
    await asyncio.gather(*(
        _client(url, keys[tenants[n % len(tenants)]], tenants[n % len(tenants)], n, deadline, budget, results)
        for n in range(args.clients)
    ))  # fmt: skip
    elapsed = time.monotonic() - began
    everything = [s for values in results.seconds.values() for s in values]
    answered = len(everything)
    rows = [
        (name, len(values), *(percentile(values, q) * 1000 for q in (50, 95, 99)))
        for name, values in sorted(results.seconds.items())
    ]
    rows.append(("all", answered, *(percentile(everything, q) * 1000 for q in (50, 95, 99))))
    print(f"{args.backend} ({args.workers} server process(es)): {args.clients} clients, "
          f"{args.tenants} tenants of {args.seed} memories, {elapsed:.1f}s")  # fmt: skip
    print(f"throughput: {answered / elapsed:.1f} requests/s ({answered} answered)")
    print(table(("operation", "requests", "p50 ms", "p95 ms", "p99 ms"), rows))
    failed = {status: count for status, count in results.statuses.items() if status >= 400}
    print(f"answers by status: {dict(sorted(results.statuses.items()))}; errors: {failed or 'none'}; "
          f"transport errors: {dict(results.transport_errors) or 'none'}")  # fmt: skip
    written = sum(len(ids) for ids in results.acknowledged.values())
    missing = await _verify(url, keys, results)
    print(f"acknowledged writes (seed included): {written}; missing or changed after the run: {len(missing)}")
    if missing:
        print("missing: " + ", ".join(missing[:20]))
    return 1 if failed or results.transport_errors or missing else 0


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """`continuum serve` on a fresh SQLite file, or on a throwaway PostgreSQL database with Redis."""
    admin_key = "bench-" + secrets.token_hex(16)
    prefixes = ("CONTINUUM_", "POSTGRES_", "REDIS_", "UPSTASH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(CONTINUUM_REQUIRE_API_KEY="true", CONTINUUM_API_KEY=admin_key, CONTINUUM_LOG_LEVEL="WARNING")
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="continuum-load-"))
        env["CONTINUUM_DB_PATH"] = str(Path(folder) / "load.db")
        if args.backend == "postgres":
            prefix = f"continuum-load:{secrets.token_hex(6)}:"
            env.update(POSTGRES_URL=stack.enter_context(_database(args.postgres_admin_url)),
                       REDIS_URL=args.redis_url, CONTINUUM_CACHE_PREFIX=prefix)  # fmt: skip
            stack.callback(_delete_keys, args.redis_url, prefix)
        port = free_port()
        log = stack.enter_context(open(Path(folder) / "server.log", "wb"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "continuum.cli.main", "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc=proc)
            yield url, admin_key
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def _database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"continuum_load_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=8, choices=range(1, 65), metavar="1..64")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, choices=range(1, 9), metavar="1..8",
                        help="server processes (more than one: PostgreSQL + Redis only)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=500, help="memories stored per tenant before the clock starts")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if not 0 < args.seconds <= 300:
        parser.error("--seconds must be in (0, 300]")
    args.tenants = max(1, min(args.tenants, args.clients))
    if args.workers > 1 and args.backend != "postgres":
        parser.error("--workers above 1 needs --backend postgres (a shared cache keeps the workers consistent)")
    with _server(args) as (url, admin_key):
        status = asyncio.run(run(url, admin_key, args))
    sys.exit(status)


if __name__ == "__main__":
    main()
