"""Storage benchmark: SQLite vs PostgreSQL under the same engine, side by side.

One tenant is filled to each size (default 10k, then 100k memories) with synthetic
conversation-like text; at each size the same queries are run through the engine
(search and recall, result cache off so every call reaches the database) and a run of
`learn` calls measures write throughput. Loading uses the batch endpoint's engine call
(1000 memories per batch) and its rate is reported too.

    .venv/bin/python bench/storage.py                      # 10k and 100k, about 8 minutes
    .venv/bin/python bench/storage.py --sizes 2000 --queries 50 --learns 50   # quick look

PostgreSQL: a throwaway database is created through --postgres-admin-url (default
the local server) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentile, table
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.memories import NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import Settings

TENANT = "bench"
NAMES = ["Aurora", "Borealis", "Kim", "Ravi", "Lena", "Omar", "Zephyr", "Orion", "Vega", "Nadia", "Tomas", "Iris"]
TOPICS = [
    "migration",
    "release",
    "invoice",
    "deployment",
    "database",
    "cache",
    "budget",
    "meeting",
    "roadmap",
    "incident",
    "customer",
    "contract",
    "design",
    "review",
    "hiring",
    "security",
    "latency",
    "backup",
    "dashboard",
    "pipeline",
]
VERBS = ["ships", "moved", "needs", "blocks", "owns", "fixed", "planned", "reviewed", "delayed", "approved"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next week", "in May", "in June", "tomorrow"]


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 10))))
    return sorted(words)


class Corpus:
    """Deterministic sentences: a few structured facts plus Zipf-distributed filler words."""

    def __init__(self, seed: int = 42) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = _vocabulary(self.rng)
        self.rng.shuffle(self.vocabulary)  # Zipf ranks fall on random words, not alphabetical ones
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(self.vocabulary))))

    def sentence(self) -> str:
        rng = self.rng
        filler = rng.choices(self.vocabulary, cum_weights=self.cumulative, k=rng.randint(6, 18))
        fact = f"{rng.choice(NAMES)} {rng.choice(VERBS)} the {rng.choice(TOPICS)} {rng.choice(DAYS)}"
        cut = rng.randint(0, len(filler))
        return " ".join([*filler[:cut], fact, *filler[cut:]]) + "."

    def query(self) -> str:
        rng = self.rng
        rare = rng.choices(self.vocabulary[200:], k=2)  # outside the 200 most frequent words
        return f"When {rng.choice(VERBS)} {rng.choice(NAMES)} the {rng.choice(TOPICS)} {' '.join(rare)}?"


async def _fill(engine: Any, corpus: Corpus, count: int, session_every: int = 50) -> float:
    """Store `count` memories in batches of 1000; returns memories per second."""
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(1000, count - done)
        batch = [
            NewMemory(content=corpus.sentence(), session_id=f"s{(done + i) // session_every}") for i in range(size)
        ]
        await engine.store_batch(TENANT, batch)
        done += size
    return count / (time.perf_counter() - started)


async def _latencies(call: Any, queries: list[str]) -> list[float]:
    samples = []
    for query in queries:
        started = time.perf_counter()
        await call(query)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _measure(engine: Any, corpus: Corpus, queries: int, learns: int) -> dict[str, float]:
    asked = [corpus.query() for _ in range(queries)]
    await engine.search(TENANT, SearchQuery(query=asked[0]))  # warm-up
    search = await _latencies(lambda q: engine.search(TENANT, SearchQuery(query=q)), asked)
    recall = await _latencies(lambda q: engine.recall(TENANT, RecallQuery(message=q)), asked)
    started = time.perf_counter()
    for _ in range(learns):
        await engine.learn(TENANT, LearnInput(user_message=corpus.sentence(), ai_response=corpus.sentence()))
    learn_rate = learns / (time.perf_counter() - started)
    return {
        "search_p50": percentile(search, 50),
        "search_p95": percentile(search, 95),
        "recall_p50": percentile(recall, 50),
        "recall_p95": percentile(recall, 95),
        "learn_per_s": learn_rate,
    }


async def _run_backend(
    name: str, settings: Settings, sizes: list[int], args: argparse.Namespace
) -> list[dict[str, Any]]:
    services = build_services(settings)
    engine = services.engine
    rows = []
    try:
        await services.storage.connect()
        await services.storage.migrate()
        corpus = Corpus(seed=args.seed)
        stored = 0
        for size in sizes:
            load_rate = await _fill(engine, corpus, size - stored)
            stored = size
            measured = await _measure(engine, Corpus(seed=args.seed + size), args.queries, args.learns)
            stored += args.learns * 2
            rows.append({"size": size, "backend": name, "load_per_s": load_rate, **measured})
            print(f"  {name} at {size:,}: done", file=sys.stderr, flush=True)
    finally:
        await services.close()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="memories in the tenant, ascending (default 10k,100k)")
    parser.add_argument("--queries", type=int, default=100, help="search and recall calls per size")
    parser.add_argument("--learns", type=int, default=100, help="learn calls per size")
    parser.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    base = Settings(cache_enabled=False, log_level="WARNING")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="continuum-bench-") as folder:
        sqlite = base.with_overrides(storage="sqlite", db_path=str(Path(folder) / "bench.db"))
        results += await _run_backend("sqlite", sqlite, sizes, args)
    name = f"continuum_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = args.postgres_admin_url.rpartition("/")[0] + "/" + name
        postgres = base.with_overrides(storage="postgres", postgres_url=url)
        results += await _run_backend("postgres", postgres, sizes, args)
    finally:
        with psycopg.connect(args.postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    headers = [
        "memories",
        "backend",
        "search p50 ms",
        "search p95 ms",
        "recall p50 ms",
        "recall p95 ms",
        "learn/s",
        "load memories/s",
    ]
    rows = []
    for size in sizes:
        pair = {r["backend"]: r for r in results if r["size"] == size}
        for backend in ("sqlite", "postgres"):
            r = pair[backend]
            rows.append(
                [
                    f"{size:,}",
                    backend,
                    r["search_p50"],
                    r["search_p95"],
                    r["recall_p50"],
                    r["recall_p95"],
                    r["learn_per_s"],
                    r["load_per_s"],
                ]
            )
        s, p = pair["sqlite"], pair["postgres"]
        rows.append(
            [
                f"{size:,}",
                "pg/sqlite",
                p["search_p50"] / s["search_p50"],
                p["search_p95"] / s["search_p95"],
                p["recall_p50"] / s["recall_p50"],
                p["recall_p95"] / s["recall_p95"],
                p["learn_per_s"] / s["learn_per_s"],
                p["load_per_s"] / s["load_per_s"],
            ]
        )
    print(f"\nStorage benchmark: {args.queries} queries and {args.learns} learns per size, one tenant, cache off\n")
    print(table(headers, rows))


if __name__ == "__main__":
    asyncio.run(main())
