"""Storage on PostgreSQL (psycopg 3, async): containers, Kubernetes, AWS Lambda
(`PostgresStorage`). Only this package imports psycopg."""

from continuum.storage.postgres.store import PostgresStorage

__all__ = ["PostgresStorage"]
