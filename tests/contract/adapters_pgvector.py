"""PostgreSQL 16 with pgvector (pgserver's binaries, a private cluster): the storage
contract on the HNSW path of vector_candidates, next to the plain-bytea one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from continuum.ports import Storage
from continuum.settings import Settings
from tests.contract.adapters import register_storage
from tests.support.pg import create_database, pgvector_cluster


@contextlib.asynccontextmanager
async def pgvector_storage() -> AsyncIterator[Storage]:
    from continuum.storage.postgres import PostgresStorage

    cluster = pgvector_cluster().init()
    try:
        cluster.start()
        cluster.wait_ready()
        url = create_database("continuum_contract", admin_url=cluster.admin_url)
        storage = PostgresStorage(Settings(postgres_url=url, postgres_pool_size=1, postgres_max_overflow=3).postgres)
        try:
            await storage.connect()
            await storage.migrate()
            assert "vector" in await storage.schema.features(), "pgvector did not load in the pgserver cluster"
            yield storage
        finally:
            await storage.close()
    finally:
        cluster.destroy()


register_storage("postgres-pgvector", pgvector_storage)
