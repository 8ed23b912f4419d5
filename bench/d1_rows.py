"""Rows read per recall on D1, before and after the lexical postings, on the same data.

D1 bills rows read: the rows its SQLite engine reads (index entries and table rows
scanned), reported as `meta.rows_read` of every call. This runs the D1 adapter on
wrangler's REAL local D1 (miniflare/workerd, which counts rows read the way D1 does)
through the test bridge, fills one tenant with the synthetic memories of bench/storage.py
(plus nothing else), then asks the same recall and search calls twice:

- before: the candidate step of FTS5 (the full-text index rebuilt beside the postings,
  and the index state set to "not built", which is what a database before
  `continuum migrate` answers with);
- after: the postings (storage/sql/lexical.py).

Every D1 call of each request is counted (stats, candidates, neighbours, rows), and the
candidate statement alone. Needs node and wrangler's packages (wrangler/node_modules).

    .venv/bin/python bench/d1_rows.py --memories 10000 --queries 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tests.support import d1_local

from common import table
from continuum.clock import ManualClock
from continuum.core.operations.memories import NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import Settings
from continuum.storage.d1 import D1Storage
from storage import Corpus

TENANT = "rows"
FTS5 = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5 (tenant_id, search_terms, content = 'memories', "
    "content_rowid = 'seq', tokenize = \"unicode61 remove_diacritics 0 tokenchars '-_.'\")",
    "INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')",
]


class Meter:
    """Sums meta.rows_read of every D1 call while on."""

    def __init__(self) -> None:
        self.on = False
        self.rows = 0
        self.candidates = 0
        original = d1_local._Statement.all

        async def all_counted(statement: Any) -> Any:
            result = await original(statement)
            if self.on:
                read = int((result.get("meta") or {}).get("rows_read", 0))
                self.rows += read
                if "lexical_postings p" in statement._sql or "memories_fts MATCH" in statement._sql:
                    self.candidates += read
            return result

        d1_local._Statement.all = all_counted  # type: ignore[method-assign]


async def ask(engine: Any, meter: Meter, queries: list[str]) -> dict[str, float]:
    per_call: dict[str, list[int]] = {"recall": [], "search": [], "recall candidates": []}
    for text in queries:
        for kind in ("recall", "search"):
            meter.rows = meter.candidates = 0
            meter.on = True
            if kind == "recall":
                await engine.recall(TENANT, RecallQuery(message=text))
            else:
                await engine.search(TENANT, SearchQuery(query=text))
            meter.on = False
            per_call[kind].append(meter.rows)
            if kind == "recall":
                per_call["recall candidates"].append(meter.candidates)
    return {k: statistics.fmean(v) for k, v in per_call.items()}


async def run(memories: int, queries: int, seed: int) -> list[list[Any]]:
    meter = Meter()
    database = d1_local.LocalD1()
    storage = D1Storage(database)
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    services = build_services(Settings(cache_enabled=False, log_level="WARNING"), storage=storage, clock=clock)
    try:
        await storage.migrate()
        corpus = Corpus(seed=seed)
        started = time.perf_counter()
        for start in range(0, memories, 100):  # D1's batch, as the Worker's batch route would
            batch = [NewMemory(content=corpus.sentence(), session_id=f"s{(start + i) // 50}") for i in range(100)]
            await services.engine.store_batch(TENANT, batch)
        print(f"stored {memories:,} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        asked = [Corpus(seed=seed + 1).query() for _ in range(queries)]
        await storage._reads.db.run_batch([(sql, ()) for sql in FTS5])
        await storage._reads.db.run_batch([("UPDATE lexical_index_state SET built = 0", ())])
        storage._search.index._built = False
        before = await ask(services.engine, meter, asked)
        await storage._reads.db.run_batch([("UPDATE lexical_index_state SET built = 1", ())])
        after = await ask(services.engine, meter, asked)
    finally:
        await services.close()
        database.close()
    rows = []
    for kind in ("recall", "search", "recall candidates"):
        rows.append([kind, f"{memories:,}", round(before[kind]), round(after[kind])])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rows = asyncio.run(run(args.memories, args.queries, args.seed))
    print(table(["call", "memories", "rows read before (FTS5)", "rows read after (postings)"], rows))


if __name__ == "__main__":
    main()
