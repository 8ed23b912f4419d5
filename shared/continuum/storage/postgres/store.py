"""`PostgresStorage`: the Storage port on PostgreSQL, composed of small parts sharing one
`PostgresRunner`.

The semantics are exactly those of the SQLite-dialect store (the reference): the same
de-duplication scope, expired rows removed before writes, the same insert results,
per-tenant term statistics kept exact, the same link formula, orderings, cursors and
export pages. The tests in tests/contract prove it on both.

With read replicas, the tenant-scoped reads below (`ROUTED_READS`) may be served by a
replica (runner.py, replicas.py), and every tenant-scoped write (`NOTED_WRITES`) records
where it ended in the WAL before it returns, so the tenant's next reads wait for it.
Anything not listed (keys, tenant lists, the indexer's scans) always uses the primary.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from continuum.settings import PostgresSettings
from continuum.storage.postgres.dialect import POSTGRES
from continuum.storage.postgres.runner import READ_TENANT, PostgresRunner
from continuum.storage.postgres.schema import PostgresSchema
from continuum.storage.postgres.search import PostgresSearch
from continuum.storage.postgres.tenants import PostgresGraph, PostgresTenants
from continuum.storage.postgres.vectors import PostgresVectors
from continuum.storage.postgres.writes import PostgresWrites
from continuum.storage.sql.facade import SqlStorage
from continuum.storage.sql.reads import SqlReads


class PostgresStorage(SqlStorage):
    """`serverless=True`: one reused connection per warm instance (AWS Lambda); otherwise
    a pool (POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW)."""

    name = "postgres"

    def __init__(self, config: PostgresSettings, *, serverless: bool = False) -> None:
        self.serverless = serverless
        self.runner = PostgresRunner(config, serverless=serverless)
        self.schema = PostgresSchema(self.runner)
        super().__init__(
            schema=self.schema,
            reads=SqlReads(self.runner, POSTGRES),
            tenants=PostgresTenants(self.runner),
            writes=PostgresWrites(self.runner),
            search=PostgresSearch(self.runner),
            vectors=PostgresVectors(self.runner, self.schema),
            graph=PostgresGraph(self.runner),
        )

    async def replicas_report(self) -> list[dict[str, object]] | None:
        """Each read replica's state, checked now (for /v1/health), or None without replicas."""
        if self.runner.replicas is None:
            return None
        await self.runner.replicas.check()
        return self.runner.replicas.report()


ROUTED_READS = (
    "get_memory", "list_memories", "lexical_stats", "lexical_candidates", "neighbours", "neighbours_many",
    "get_embeddings", "vector_candidates", "find_entities", "list_entities", "entity_links", "counts",
    "export_page",
)  # fmt: skip
NOTED_WRITES = (
    "learn", "insert_memories", "update_memory", "delete_memory", "put_embeddings", "import_rows",
    "erase_tenant",
)  # fmt: skip
Method = Callable[..., Awaitable[Any]]


def _routed_read(method: Method) -> Method:
    @functools.wraps(method)
    async def read(self: PostgresStorage, tenant_id: str, *args: Any, **kwargs: Any) -> Any:
        if self.runner.replicas is None:
            return await method(self, tenant_id, *args, **kwargs)
        token = READ_TENANT.set(tenant_id)
        try:
            return await method(self, tenant_id, *args, **kwargs)
        finally:
            READ_TENANT.reset(token)

    return read


def _noted_write(method: Method) -> Method:
    @functools.wraps(method)
    async def write(self: PostgresStorage, tenant_id: str, *args: Any, **kwargs: Any) -> Any:
        if self.runner.replicas is None:
            return await method(self, tenant_id, *args, **kwargs)
        token = READ_TENANT.set(None)  # a write's own reads stay on the primary
        try:
            return await method(self, tenant_id, *args, **kwargs)
        finally:
            READ_TENANT.reset(token)
            await self.runner.note_write(tenant_id)  # even after a failure: part may have committed

    return write


for _name in ROUTED_READS:
    setattr(PostgresStorage, _name, _routed_read(getattr(SqlStorage, _name)))
for _name in NOTED_WRITES:
    setattr(PostgresStorage, _name, _noted_write(getattr(SqlStorage, _name)))
