"""Versioned SQL migrations: numbered files per dialect, applied in order, once.

One runner for every database; each says how it keeps its books (`MigrationBook`):
which versions are applied, and how one migration is applied and recorded atomically.
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

from collections.abc import Sequence
from importlib import resources
from typing import NamedTuple, Protocol


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class Migration(NamedTuple):
    version: str  # e.g. "0001_init"
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    folder = resources.files("continuum.storage").joinpath("migrations", dialect)
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")), key=lambda e: e.name
    )
    return [Migration(version=entry.name[: -len(".sql")], sql=entry.read_text("utf-8")) for entry in files]


class MigrationBook(Protocol):
    async def prepare(self) -> None:
        """Before applying: create the bookkeeping table, take a lock where needed."""
        ...

    async def applied(self) -> set[str]:
        """Versions recorded as applied."""
        ...

    def applicable(self, migration: Migration) -> bool:
        """Whether this database can take the migration now (e.g. its extension exists)."""
        ...

    async def apply(self, migration: Migration) -> bool:
        """Apply and record one migration atomically; False when it was skipped."""
        ...


async def pending(book: MigrationBook, migrations: Sequence[Migration]) -> list[str]:
    applied = await book.applied()
    return [m.version for m in migrations if m.version not in applied and book.applicable(m)]


async def apply_pending(book: MigrationBook, migrations: Sequence[Migration]) -> list[str]:
    await book.prepare()
    applied = await book.applied()
    done = []
    for migration in migrations:
        if migration.version not in applied and await book.apply(migration):
            done.append(migration.version)
    return done
