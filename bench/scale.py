"""Recall at scale: one tenant with a million memories on PostgreSQL.

1. A throwaway database is created (through --postgres-admin-url) and migrated.
2. One tenant is filled with --memories synthetic conversation-like memories (the
   engine's batch call, 1000 per batch, as POST /v1/memories/batch does) plus one real
   LoCoMo conversation (the protocol's turns), so there is something to find.
3. `continuum serve` runs on that database; --queries POST /v1/recall and POST /v1/search
   calls go through HTTP, and the LoCoMo conversation's questions measure recall@10
   among the million distractors.
4. The database is dropped (unless --keep).

    .venv/bin/python bench/scale.py --memories 1000000            # about an hour here
    .venv/bin/python bench/scale.py --memories 20000 --queries 100  # a quick look

Embeddings are off: embedding a million texts with the local model on this 2-core
machine would take hours; the lexical path is what a million-row tenant exercises.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import local_server, percentile, table
from continuum.runtime import build_services
from continuum.schemas import MemoryBatchRequest, MemoryCreate
from continuum.settings import Settings
from locomo import load_conversation
from storage import Corpus

TENANT = "scale"


async def fill(url: str, count: int, conversation: list[dict[str, Any]], seed: int) -> dict[str, float]:
    """Synthetic memories, with the real conversation stored half-way through."""
    services = build_services(Settings(postgres_url=url, cache_enabled=False, log_level="WARNING"))
    engine = services.engine
    corpus = Corpus(seed=seed)
    started = time.perf_counter()
    done = 0
    planted = False
    try:
        await services.storage.connect()
        await services.storage.migrate()
        while done < count:
            if not planted and done >= count // 2:
                for start in range(0, len(conversation), 1000):
                    chunk = [MemoryCreate(**m) for m in conversation[start : start + 1000]]
                    await engine.store_batch(TENANT, MemoryBatchRequest(memories=chunk))
                planted = True
            size = min(1000, count - done)
            batch = [MemoryCreate(content=corpus.sentence(), session_id=f"s{(done + i) // 50}") for i in range(size)]
            await engine.store_batch(TENANT, MemoryBatchRequest(memories=batch))
            done += size
            if done % 50_000 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  stored {done:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        if not planted:
            await engine.store_batch(TENANT, MemoryBatchRequest(memories=[MemoryCreate(**m) for m in conversation]))
        counts = await services.storage.counts(TENANT)
    finally:
        await services.close()
    seconds = time.perf_counter() - started
    return {"memories": counts.memories, "load_seconds": seconds, "load_per_second": count / seconds}


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
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300, help="recall and search calls each")
    parser.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    default_locomo = Path(__file__).resolve().parents[2] / "shared/bench/locomo/26.json"
    parser.add_argument("--locomo", type=Path, default=default_locomo, help="The conversation planted among them.")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="Keep the database (its URL is printed).")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    conversation, questions = load_conversation(args.locomo)
    name = f"continuum_scale_{secrets.token_hex(4)}"
    with psycopg.connect(args.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = args.postgres_admin_url.rpartition("/")[0] + "/" + name
    try:
        loaded = asyncio.run(fill(url, args.memories, conversation, args.seed))
        corpus = Corpus(seed=args.seed + 1)
        asked = [corpus.query() for _ in range(args.queries)]
        env = {"POSTGRES_URL": url, "CONTINUUM_CACHE_ENABLED": "false"}
        with local_server(env) as (server_url, admin_key):
            measured = measure(server_url, admin_key, asked, questions)
    finally:
        if not args.keep:
            with psycopg.connect(args.postgres_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept {url}", file=sys.stderr)

    rows = [
        [kind, f"{loaded['memories']:,}", m["server_p50_ms"], m["server_p95_ms"], m["client_p50_ms"],
         m["client_p95_ms"]]
        for kind, m in (("recall", measured["recall"]), ("search", measured["search"]))
    ]  # fmt: skip
    print(f"\nOne tenant on PostgreSQL: {loaded['memories']:,} memories, loaded at "
          f"{loaded['load_per_second']:,.0f}/s ({loaded['load_seconds']:.0f} s); {args.queries} queries each, "
          "result cache off\n")  # fmt: skip
    print(table(["call", "memories", "server p50 ms", "server p95 ms", "client p50 ms", "client p95 ms"], rows))
    print(f"LoCoMo conversation {args.locomo.stem} among them: recall@10 {measured['locomo_recall@10']:.3f} "
          f"over {len(questions)} questions")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"load": loaded, **measured}, indent=2))


if __name__ == "__main__":
    main()
