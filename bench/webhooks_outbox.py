"""What the webhook outbox costs a write: storage-level single-memory inserts and updates,
webhooks off, on for a tenant without webhooks, and on for a tenant with one.

    PYTHONPATH=shared:. .venv/bin/python bench/webhooks_outbox.py [--writes 300] [--postgres URL]

Medians in milliseconds per write (SQLite file; PostgreSQL when a URL is given).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from continuum.clock import SystemClock
from continuum.core.webhooks import OutboxEvents
from continuum.ids import IdGenerator
from continuum.models import MemoryChanges, MemoryRecord, WebhookRecord
from continuum.ports import Storage

IDS = IdGenerator()


def _memory(tenant: str, text: str) -> MemoryRecord:
    now = datetime.now(UTC)
    return MemoryRecord(
        id=IDS.new_id(), tenant_id=tenant, content=text, content_hash=hashlib.sha256(text.encode()).hexdigest(),
        search_terms=" ".join(text.lower().split()), role="user", instance_id=None, session_id=None, metadata={},
        created_at=now, updated_at=now, expires_at=None,
    )  # fmt: skip


async def _run(storage: Storage, tenant: str, writes: int) -> tuple[float, float]:
    inserts, updates = [], []
    for n in range(writes):
        record = _memory(tenant, f"memory number {n} about the outbox {tenant}")
        began = time.perf_counter()
        await storage.insert_memories(tenant, [record], datetime.now(UTC), history_ids=[IDS.new_id()])
        inserts.append(time.perf_counter() - began)
        changes = MemoryChanges(role="note")
        began = time.perf_counter()
        await storage.update_memory(tenant, record.id, changes, datetime.now(UTC), history_id=IDS.new_id())
        updates.append(time.perf_counter() - began)
    return statistics.median(inserts) * 1000, statistics.median(updates) * 1000


async def _measure(name: str, storage: Storage, writes: int) -> None:
    await storage.connect()
    await storage.migrate()
    try:
        off = await _run(storage, "bench-off", writes)
        storage.record_events(OutboxEvents(IDS, SystemClock()))
        none = await _run(storage, "bench-none", writes)
        now = datetime.now(UTC)
        await storage.create_webhook(WebhookRecord(
            tenant_id="bench-one", id=f"wh_{IDS.new_id()}", url="https://example.com/", events=(), description="",
            secret="s", status="active", created_at=now, updated_at=now,
        ))  # fmt: skip
        one = await _run(storage, "bench-one", writes)
        for label, (insert, update) in (("off", off), ("on, no webhook", none), ("on, 1 webhook", one)):
            print(f"{name:10} {label:16} insert {insert:6.2f} ms   update {update:6.2f} ms")
    finally:
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    from continuum.storage.sqlite import SqliteStorage

    folder = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    asyncio.run(_measure("sqlite", SqliteStorage(str(folder / "memory.db")), args.writes))
    if args.postgres:
        from continuum.runtime.adapters import build_storage
        from continuum.settings import load_settings

        settings = load_settings({"POSTGRES_URL": args.postgres, "CONTINUUM_STORAGE": "postgres"}, read_files=False)
        asyncio.run(_measure("postgres", build_storage(settings), args.writes))


if __name__ == "__main__":
    main()
