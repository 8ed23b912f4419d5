"""Recall at scale: one tenant with a million memories, on PostgreSQL or SQLite.

1. A throwaway database is created (through --postgres-admin-url; with --backend sqlite
   a file in --sqlite-dir) and migrated.
2. One tenant gets one real LoCoMo conversation (the protocol's turns), then is filled
   with synthetic conversation-like memories (bench/storage.py's corpus; the engine's
   batch call, 1000 per batch, as POST /v1/memories/batch does) up to each size.
3. At each size `continuum serve` runs on that database; --queries POST /v1/recall and
   POST /v1/search calls go through HTTP, and the LoCoMo conversation's questions
   measure recall@10 among the distractors; the server's resident memory (RSS) is read
   after the calls.
4. The database is dropped (unless --keep).

    .venv/bin/python bench/scale.py --memories 100000,300000,1000000   # measured at each size
    .venv/bin/python bench/scale.py --memories 20000 --queries 100     # a quick look
    .venv/bin/python bench/scale.py --memories 300000 --keep            # ...then, on that database:
    .venv/bin/python bench/scale.py --database URL                      # measure again, no filling
    .venv/bin/python bench/scale.py --backend sqlite --memories 1000,10000,100000

--database (a PostgreSQL URL or a SQLite file) measures a database kept by an earlier run
as it is (e.g. before and after an index change, or with another checkout's code through PYTHONPATH): the server it
starts migrates it first, like any `continuum serve`.

Embeddings are off: embedding a million texts with the local model on this 2-core
machine would take hours; the lexical path is what a million-row tenant exercises.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import local_server, percentile, table
from continuum.core.operations.memories import NewMemory
from continuum.runtime import build_services
from continuum.settings import Settings
from locomo import load_conversation
from storage import Corpus

TENANT = "scale"


class Loader:
    """Fills the tenant step by step: synthetic memories, the real conversation first."""

    def __init__(self, url: str, conversation: list[dict[str, Any]], seed: int) -> None:
        self.services = build_services(Settings(cache_enabled=False, log_level="WARNING", **_where(url)))
        self.conversation = conversation
        self.corpus = Corpus(seed=seed)
        self.synthetic = 0
        self.seconds = 0.0

    async def open(self) -> None:
        await self.services.storage.connect()
        await self.services.storage.migrate()
        engine = self.services.engine
        for start in range(0, len(self.conversation), 1000):
            chunk = [NewMemory(**m) for m in self.conversation[start : start + 1000]]
            await engine.store_batch(TENANT, chunk)

    async def fill_to(self, count: int) -> dict[str, float]:
        engine = self.services.engine
        started = time.perf_counter()
        added = 0
        while self.synthetic < count:
            size = min(1000, count - self.synthetic)
            batch = [
                NewMemory(content=self.corpus.sentence(), session_id=f"s{(self.synthetic + i) // 50}")
                for i in range(size)
            ]
            await engine.store_batch(TENANT, batch)
            self.synthetic += size
            added += size
            if self.synthetic % 50_000 == 0:
                rate = added / (time.perf_counter() - started)
                print(f"  stored {self.synthetic:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        seconds = time.perf_counter() - started
        self.seconds += seconds
        counts = await self.services.storage.counts(TENANT)
        return {"memories": counts.memories, "load_per_second": added / seconds if seconds else 0.0}

    async def close(self) -> None:
        await self.services.close()


def vacuum(url: str) -> None:
    """What autovacuum does after a bulk load (visibility map, statistics): the test
    server here runs with autovacuum off, production does not."""
    if url.startswith("postgres"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")


def _where(url: str) -> dict[str, Any]:
    """Settings for a PostgreSQL URL or a SQLite file."""
    if url.startswith("postgres"):
        return {"postgres_url": url, "storage": "postgres"}
    return {"db_path": url, "storage": "sqlite"}


def _server_env(url: str) -> dict[str, str]:
    if url.startswith("postgres"):
        return {"POSTGRES_URL": url, "CONTINUUM_CACHE_ENABLED": "false"}
    return {"CONTINUUM_DB_PATH": url, "CONTINUUM_STORAGE": "sqlite", "CONTINUUM_CACHE_ENABLED": "false"}


def server_rss_mb(server_url: str) -> float:
    """Resident memory of the `continuum serve` listening on the URL's port (Linux /proc)."""
    port = server_url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"serve" in args and port.encode() in args:
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return 0.0


def measure(url: str, admin_key: str, queries: list[str], questions: list[dict[str, Any]]) -> dict[str, Any]:
    headers = {"X-API-Key": admin_key, "X-Continuum-Tenant": TENANT}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
        client.post("/v1/recall", json={"message": "warm up"}).raise_for_status()
        for path, field in (("/v1/recall", "message"), ("/v1/search", "query")):
            server, wall = [], []
            for query in queries:
                began = time.perf_counter()
                response = client.post(path, json={field: query, "limit": 10})
                wall.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
                server.append(response.json()["query_time_ms"])
            name = path.rsplit("/", 1)[1]
            out[name] = {
                "server_p50_ms": percentile(server, 50), "server_p95_ms": percentile(server, 95),
                "client_p50_ms": percentile(wall, 50), "client_p95_ms": percentile(wall, 95),
            }  # fmt: skip
        recalls = []
        for question in questions:
            body = client.post("/v1/search", json={"query": question["question"], "limit": 10}).json()
            ranked = {r["metadata"].get("dia_id") for r in body["results"]}
            wanted = set(question["evidence"])
            recalls.append(len(wanted & ranked) / len(wanted))
        out["locomo_recall@10"] = statistics.fmean(recalls)
    out["server_rss_mb"] = server_rss_mb(url)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", default="1000000",
                        help="tenant sizes, ascending, comma-separated: measured at each (e.g. 100000,1000000)")
    parser.add_argument("--queries", type=int, default=300, help="recall and search calls each, per size")
    parser.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    default_locomo = Path(__file__).resolve().parents[2] / "shared/bench/locomo/26.json"
    parser.add_argument("--locomo", type=Path, default=default_locomo, help="The conversation planted among them.")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="Keep the database (its URL is printed).")
    parser.add_argument("--json", type=Path, help="Write the figures here (after each size).")
    parser.add_argument("--database", help="Measure this kept database (URL or SQLite file) as it is: no filling.")
    parser.add_argument("--ingest", type=int, default=0,
                        help="With --database: then store this many more memories (batches of 1000), timed.")
    parser.add_argument("--as-size", type=int, help="With --database: ask the queries of this size (default: its own).")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/tmp"), help="Where --backend sqlite puts its file.")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.memories.split(","))

    conversation, questions = load_conversation(args.locomo)
    if args.database:
        measured = remeasure(args.database, args.queries, args.seed, questions, args.as_size)
        rate = ingest(args.database, args.ingest, args.seed) if args.ingest else 0.0
        results = [{**measured, "load_per_second": rate}]
        report(results, args.queries, len(questions), args.locomo.stem, _backend(args.database))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return
    name = f"continuum_scale_{secrets.token_hex(4)}"
    if args.backend == "sqlite":
        url = str(args.sqlite_dir / f"{name}.db")
    else:
        with psycopg.connect(args.postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = args.postgres_admin_url.rpartition("/")[0] + "/" + name
    loader = Loader(url, conversation, args.seed)
    loop = asyncio.new_event_loop()
    results: list[dict[str, Any]] = []
    try:
        loop.run_until_complete(loader.open())
        for size in sizes:
            loaded = loop.run_until_complete(loader.fill_to(size))
            vacuum(url)
            corpus = Corpus(seed=args.seed + size)
            asked = [corpus.query() for _ in range(args.queries)]
            with local_server(_server_env(url)) as (server_url, admin_key):
                measured = measure(server_url, admin_key, asked, questions)
            results.append({"size": size, **loaded, **measured})
            report(results, args.queries, len(questions), args.locomo.stem, args.backend)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))
    finally:
        loop.run_until_complete(loader.close())
        loop.close()
        if args.keep:
            print(f"kept {url}", file=sys.stderr)
        elif args.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(url + suffix).unlink(missing_ok=True)
        else:
            with psycopg.connect(args.postgres_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ingest(url: str, count: int, seed: int) -> float:
    """Store `count` more synthetic memories into the kept tenant; memories per second."""

    async def work() -> float:
        loader = Loader(url, [], seed + 7)
        await loader.services.storage.connect()
        try:
            before = (await loader.services.storage.counts(TENANT)).memories
            loader.synthetic = before  # session ids continue from the tenant's size
            loaded = await loader.fill_to(before + count)
            return loaded["load_per_second"]
        finally:
            await loader.close()

    rate = asyncio.run(work())
    print(f"  ingested {count:,} more ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return rate


def remeasure(
    url: str, queries: int, seed: int, questions: list[dict[str, Any]], as_size: int | None = None
) -> dict[str, Any]:
    """The measurement of a kept database, with the queries a run would ask at its size."""
    if url.startswith("postgres"):
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM memories WHERE tenant_id = %s", (TENANT,)).fetchone()
    else:
        with sqlite3.connect(url) as lite:
            row = lite.execute("SELECT count(*) FROM memories WHERE tenant_id = ?", (TENANT,)).fetchone()
    memories = int(row[0]) if row else 0
    size = memories - memories % 1000  # the synthetic part: the LoCoMo conversation is under 1000
    corpus = Corpus(seed=seed + (as_size or size))
    asked = [corpus.query() for _ in range(queries)]
    with local_server(_server_env(url)) as (server_url, admin_key):
        measured = measure(server_url, admin_key, asked, questions)
    return {"size": size, "memories": memories, "load_per_second": 0.0, **measured}


def _backend(url: str) -> str:
    return "postgres" if url.startswith("postgres") else "sqlite"


def report(results: list[dict[str, Any]], queries: int, questions: int, conversation: str, backend: str) -> None:
    rows = []
    for r in results:
        for kind in ("recall", "search"):
            m = r[kind]
            rows.append([kind, f"{r['memories']:,}", m["server_p50_ms"], m["server_p95_ms"], m["client_p50_ms"],
                         m["client_p95_ms"], r["locomo_recall@10"], r["load_per_second"],
                         r.get("server_rss_mb", 0.0)])  # fmt: skip
    where = "PostgreSQL" if backend == "postgres" else "SQLite"
    print(f"\nOne tenant on {where}, {queries} queries per call and size, result cache off; "
          f"LoCoMo conversation {conversation} ({questions} questions) planted among the memories\n")  # fmt: skip
    print(table(["call", "memories", "server p50 ms", "server p95 ms", "client p50 ms", "client p95 ms",
                 "LoCoMo R@10", "load/s", "server RSS MB"], rows), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
