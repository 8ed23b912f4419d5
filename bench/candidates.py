"""The candidate step alone, before and after the lexical postings, on two copies of one
kept database, in-process and interleaved query by query (so both see the same load).

`--before` is a copy from before migration 0008 (or not yet built: its old full-text
index answers), `--after` the same data after `continuum migrate`. Both run this
checkout's code; each query goes through the engine's `search` on one, then the other,
and the time of the storage's `lexical_candidates` call is taken apart from the whole.

    .venv/bin/python bench/candidates.py --before /tmp/a.db --after /tmp/b.db --queries 200
    .venv/bin/python bench/candidates.py --before postgresql://.../a --after postgresql://.../b
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentile, table
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import Settings
from storage import Corpus

TENANT = "scale"


def _settings(where: str) -> Settings:
    if where.startswith("postgres"):
        return Settings(postgres_url=where, storage="postgres", cache_enabled=False, log_level="WARNING")
    return Settings(db_path=where, storage="sqlite", cache_enabled=False, log_level="WARNING")


class Timed:
    """Times the storage's lexical_candidates calls of one engine."""

    def __init__(self, where: str) -> None:
        self.services = build_services(_settings(where))
        self.storage = self.services.storage
        self.calls: list[float] = []
        self.searches: list[float] = []
        original = self.storage.lexical_candidates

        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.calls.append((time.perf_counter() - began) * 1000)

        self.storage.lexical_candidates = timed

    async def search(self, text: str) -> list[str]:
        began = time.perf_counter()
        found = await self.services.engine.search(TENANT, SearchQuery(query=text, mode="lexical"))
        self.searches.append((time.perf_counter() - began) * 1000)
        return [r.id for r in found.results]


async def run(before: str, after: str, queries: int, seed: int, size: int) -> list[list[Any]]:
    sides = {"before": Timed(before), "after": Timed(after)}
    for side in sides.values():
        await side.storage.connect()

    async def old_index() -> bool:
        return False

    sides["before"].storage._search.index.ready = old_index  # no state read per call: as the old code
    same = 0
    try:
        corpus = Corpus(seed=seed + size)
        asked = [corpus.query() for _ in range(queries)]
        for side in sides.values():  # warm both
            for text in asked[:5]:
                await side.search(text)
            side.calls.clear()
            side.searches.clear()
        for text in asked:
            top = [await side.search(text) for side in sides.values()]
            same += top[0] == top[1]
    finally:
        for side in sides.values():
            await side.services.close()
    rows = []
    for name, side in sides.items():
        rows.append([name, percentile(side.calls, 50), percentile(side.calls, 95),
                     percentile(side.searches, 50), percentile(side.searches, 95)])  # fmt: skip
    print(f"same top 10 on {same} of {queries} queries", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--size", type=int, default=100000, help="The queries bench/scale.py asks at this size.")
    args = parser.parse_args()
    rows = asyncio.run(run(args.before, args.after, args.queries, args.seed, args.size))
    print(table(["index", "candidates p50 ms", "candidates p95 ms", "search p50 ms", "search p95 ms"], rows))


if __name__ == "__main__":
    main()
