"""Read replicas: how much of the read load a streaming standby takes, and what it does
to throughput, against a private primary + hot standby (tests/support/pg_replica.py).

Several tenants are filled with synthetic memories; then concurrent clients run the
engine's search and recall (result cache off: every call reaches the database) for a
fixed time, in three runs: primary only (no POSTGRES_READ_URLS), with the standby, and
with the standby while 10% of operations are writes (each write sends that tenant's
next reads to the primary until the standby has replayed it), and primary only again
(the spread between the two primary-only runs is the noise of the machine). Reported per run:
operations/s, the share of storage reads the standby served, and the CPU seconds the
primary's and the standby's PostgreSQL processes spent (from /proc).

    .venv/bin/python bench/replicas.py                       # about 2 minutes
    .venv/bin/python bench/replicas.py --tenants 4 --memories 2000 --seconds 10   # quick look

Both servers run on this machine, so the throughput figures show routing overhead and
the primary's relief, not added hardware.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support
from tests.support.pg_replica import ReplicatedPostgres, replicated_postgres

from common import table
from continuum.core.operations.memories import NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import Settings
from storage import Corpus

TICKS = os.sysconf("SC_CLK_TCK")


def _cluster_cpu(data_dir: Path) -> float:
    """CPU seconds used so far by a cluster's postmaster and its live children."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster or ppid == postmaster:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def _fill(engine: Any, tenants: list[str], memories: int, seed: int) -> None:
    corpus = Corpus(seed=seed)
    for tenant in tenants:
        for start in range(0, memories, 1000):
            batch = [
                NewMemory(content=corpus.sentence(), session_id=f"s{(start + i) // 50}")
                for i in range(min(1000, memories - start))
            ]
            await engine.store_batch(tenant, batch)


async def _run(
    name: str, settings: Settings, pair: ReplicatedPostgres, args: argparse.Namespace, writes: float
) -> dict[str, Any]:
    services = build_services(settings)
    engine = services.engine
    runner = services.storage.runner  # type: ignore[attr-defined]
    tenants = [f"bench-{n}" for n in range(args.tenants)]
    await services.storage.connect()
    try:
        corpus = Corpus(seed=args.seed + 1)
        queries = [corpus.query() for _ in range(500)]
        for tenant in tenants:  # warm-up
            await engine.search(tenant, SearchQuery(query=queries[0]))
        if runner.replicas is not None:
            for replica in runner.replicas.replicas:
                replica.reads = replica.fallbacks = 0
            runner.replicas.primary_reads = 0
        cpu_primary = _cluster_cpu(pair.primary.data_dir)
        cpu_standby = _cluster_cpu(pair.standby.data_dir)
        done = 0
        deadline = time.perf_counter() + args.seconds
        started = time.perf_counter()

        async def client(index: int) -> None:
            nonlocal done
            rng = random.Random(args.seed * 100 + index)
            while time.perf_counter() < deadline:
                tenant = rng.choice(tenants)
                if rng.random() < writes:
                    await engine.store_batch(tenant, [NewMemory(content=corpus.sentence(), session_id="bench")])
                elif rng.random() < 0.5:
                    await engine.search(tenant, SearchQuery(query=rng.choice(queries)))
                else:
                    await engine.recall(tenant, RecallQuery(message=rng.choice(queries)))
                done += 1

        await asyncio.gather(*(client(n) for n in range(args.clients)))
        elapsed = time.perf_counter() - started
        row: dict[str, Any] = {
            "run": name, "ops_per_s": done / elapsed,
            "primary_cpu_s": _cluster_cpu(pair.primary.data_dir) - cpu_primary,
            "standby_cpu_s": _cluster_cpu(pair.standby.data_dir) - cpu_standby,
        }  # fmt: skip
        if runner.replicas is None:
            row["standby_share"] = 0.0
        else:
            served = sum(r.reads for r in runner.replicas.replicas)
            other = runner.replicas.primary_reads + sum(r.fallbacks for r in runner.replicas.replicas)
            row["standby_share"] = served / max(1, served + other)
        return row
    finally:
        await services.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=8)
    parser.add_argument("--memories", type=int, default=5000, help="per tenant")
    parser.add_argument("--seconds", type=float, default=20.0, help="per run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with replicated_postgres() as pair:
        base = Settings(
            cache_enabled=False, log_level="WARNING", storage="postgres", postgres_url=pair.primary_url,
            postgres_pool_size=args.clients, postgres_max_overflow=0,
        )  # fmt: skip
        print(f"filling {args.tenants} tenants x {args.memories:,} memories", file=sys.stderr, flush=True)
        filler = build_services(base)
        await filler.storage.connect()
        await filler.storage.migrate()
        await _fill(filler.engine, [f"bench-{n}" for n in range(args.tenants)], args.memories, args.seed)
        await filler.close()
        pair.wait_caught_up(timeout=120)
        replicated = base.with_overrides(postgres_read_urls=(pair.standby_url,))
        rows = [
            await _run("primary only", base, pair, args, 0.0),
            await _run("with standby", replicated, pair, args, 0.0),
            await _run("with standby, 10% writes", replicated, pair, args, 0.10),
            await _run("primary only, again", base, pair, args, 0.0),  # order and warm-up effects
        ]
    shape = f"{args.tenants} tenants x {args.memories:,} memories, {args.clients} clients"
    print(f"\n{shape}, {args.seconds:.0f} s per run")
    headers = ["run", "ops/s", "reads on standby", "primary CPU s", "standby CPU s"]
    print(table(headers, [
        [r["run"], r["ops_per_s"], f"{r['standby_share']:.1%}", r["primary_cpu_s"], r["standby_cpu_s"]] for r in rows
    ]))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
