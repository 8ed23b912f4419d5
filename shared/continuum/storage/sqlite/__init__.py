"""The embedded default: a local SQLite file in WAL mode (`SqliteStorage`)."""

from continuum.storage.sqlite.store import SqliteStorage

__all__ = ["SqliteStorage"]
