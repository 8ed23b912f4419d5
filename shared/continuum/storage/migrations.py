"""Versioned SQL migrations: numbered files per dialect, applied in order, once."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    version: str  # e.g. "0001_init"
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    folder = resources.files("continuum.storage").joinpath("migrations", dialect)
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")), key=lambda e: e.name
    )
    return [Migration(version=entry.name[: -len(".sql")], sql=entry.read_text("utf-8")) for entry in files]
