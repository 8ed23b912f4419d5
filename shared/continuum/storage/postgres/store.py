"""`PostgresStorage`: the Storage port on PostgreSQL, composed of small parts sharing one
`PostgresRunner`.

The semantics are exactly those of the SQLite-dialect store (the reference): the same
de-duplication scope, expired rows removed before writes, the same insert results,
per-tenant term statistics kept exact, the same link formula, orderings, cursors and
export pages. The tests in tests/contract prove it on both.
"""

from __future__ import annotations

from continuum.settings import PostgresSettings
from continuum.storage.postgres.dialect import POSTGRES
from continuum.storage.postgres.runner import PostgresRunner
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
