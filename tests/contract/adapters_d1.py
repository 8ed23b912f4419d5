"""Cloudflare D1 in the contract suites: the D1 adapter over the D1 stand-in (sqlite3 with
D1's semantics) and over wrangler's REAL local D1 (miniflare/workerd, through a Node
bridge to getPlatformProxy). The stand-in is itself checked against the real local D1,
case by case, in tests/workers/test_d1_fidelity.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from continuum.ports import Storage
from tests.contract.adapters import register_storage


@contextlib.asynccontextmanager
async def d1_standin_storage() -> AsyncIterator[Storage]:
    from continuum.storage.d1 import D1Storage
    from tests.support.d1_standin import D1Database

    database = D1Database()
    storage = D1Storage(database)
    try:
        await storage.migrate()
        yield storage
    finally:
        database.close()


@contextlib.asynccontextmanager
async def d1_local_storage() -> AsyncIterator[Storage]:
    from continuum.storage.d1 import D1Storage
    from tests.support.d1_local import LocalD1
    from tests.support.workers_env import require_tooling

    require_tooling()
    database = LocalD1()
    storage = D1Storage(database)
    try:
        await storage.migrate()  # the same files `wrangler d1 migrations apply` applies
        yield storage
    finally:
        database.close()


register_storage("d1-standin", d1_standin_storage)
register_storage("d1-local", d1_local_storage)
