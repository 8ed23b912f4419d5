"""`continuum doctor`: every check a new install or an outage needs, in one list."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
from pathlib import Path

from continuum.settings import Settings, SettingsError, load_settings

Check = tuple[str, bool, str]


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return "python", ok, sys.version.split()[0] + ("" if ok else " (3.11 or newer needed)")


def _fts5() -> Check:
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.Error as exc:
        return "sqlite fts5", False, f"SQLite {sqlite3.sqlite_version} lacks FTS5: {exc}"
    return "sqlite fts5", True, f"SQLite {sqlite3.sqlite_version}"


def _disk(settings: Settings) -> Check:
    folder = Path(settings.db_path).expanduser().resolve().parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    return "disk space", free > 100 * 1024 * 1024, f"{free / 1e9:.1f} GB free at {folder}"


async def _services(settings: Settings) -> list[Check]:
    from continuum.runtime import build_services

    checks: list[Check] = []
    try:
        services = build_services(settings)
    except Exception as exc:  # doctor reports every failure, including a missing driver
        return [("database", False, f"{settings.storage_backend}: cannot start adapter: {exc}")]
    try:
        try:
            await services.storage.connect()
            await services.storage.ping()
            checks.append(("database", True, f"{services.storage.name} reachable"))
            pending = await services.storage.pending_migrations()
            checks.append((
                "migrations", not pending,
                "up to date" if not pending else f"pending {', '.join(pending)}: run `continuum migrate`",
            ))  # fmt: skip
        except Exception as exc:  # doctor reports every failure
            checks.append(("database", False, f"{services.storage.name}: {exc}"))
        state = await services.cache.health()
        detail = state if state != "degraded" else f"unreachable: {services.cache.degraded_reason}"
        checks.append(("cache", state in {"ok", "disabled"}, detail))
    finally:
        await services.close()
    return checks


def run_checks() -> list[Check]:
    results: list[Check] = [_python(), _fts5()]
    try:
        settings = load_settings()
    except SettingsError as exc:
        return [*results, ("settings", False, str(exc))]
    results.append(("settings", True, f"env={settings.env}, storage={settings.storage_backend}"))
    if settings.require_api_key and not settings.api_key:
        results.append(("auth", True, "API keys required; no admin key set (create keys with `continuum keys create`)"))
    results.append(_disk(settings))
    results += asyncio.run(_services(settings))
    return results
