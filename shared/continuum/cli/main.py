"""The `continuum` command line (click).

Commands work directly on the configured database (SQLite file or POSTGRES_URL).
`learn`, `recall`, `search`, `stats` and `keys` can instead talk to a running server with
`--url` (or CONTINUUM_URL), authenticating with `--api-key` (or CONTINUUM_API_KEY), through
the Python SDK (`continuum.client`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from continuum import __version__
from continuum.cli.common import (
    add_options,
    cli_settings,
    emit,
    fail_cleanly,
    json_option,
    jsonable,
    remote,
    remote_options,
    run_async,
    tenant_option,
    with_services,
)
from continuum.cli.keys import keys
from continuum.cli.mcp import mcp_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="continuum")
def cli() -> None:
    """CONTINUUM: memory for AI agents. Configure with CONTINUUM_* variables or .env."""


@cli.command()
@click.option("--db-path", type=click.Path(dir_okay=False), help="SQLite file to create.")
@click.option("--use-postgres", is_flag=True, help="Initialise the PostgreSQL at POSTGRES_URL instead.")
@fail_cleanly
def init(db_path: str | None, use_postgres: bool) -> None:
    """Create the database and apply every migration."""
    if db_path and use_postgres:
        raise click.UsageError("--db-path and --use-postgres exclude each other")
    overrides: dict[str, Any] = {}
    if db_path:
        overrides.update(db_path=db_path, storage="sqlite")
    if use_postgres:
        overrides["storage"] = "postgres"
    settings = cli_settings(**overrides)

    async def action(services: Any) -> list[str]:
        return await services.storage.migrate()

    applied = run_async(with_services(settings, action, migrate=False))
    where = "PostgreSQL" if settings.storage_backend == "postgres" else Path(settings.db_path).resolve()
    click.echo(f"initialised {where}: " + (f"applied {', '.join(applied)}" if applied else "already up to date"))


@cli.command()
@click.option("--status", is_flag=True, help="Only list pending migrations.")
@click.option("--batch", type=click.IntRange(100, 50_000), default=2000, show_default=True,
              help="Memories per step while building the lexical index.")
@fail_cleanly
def migrate(status: bool, batch: int) -> None:
    """Apply pending schema migrations, then build the lexical index of an existing
    database (resumable: run it again after a stop); the old full-text index is dropped after."""
    from continuum.cli.lexical import build_lexical_index, lexical_status

    settings = cli_settings()

    async def action(services: Any) -> tuple[list[str], str]:
        if status:
            return await services.storage.pending_migrations(), await lexical_status(services.storage)
        applied = await services.storage.migrate()
        return applied, await build_lexical_index(services.storage, batch=batch)

    versions, lexical = run_async(with_services(settings, action, migrate=False))
    if status:
        click.echo("pending: " + (", ".join(versions) if versions else "none"))
    else:
        click.echo("applied: " + (", ".join(versions) if versions else "nothing (up to date)"))
    click.echo(lexical)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: CONTINUUM_API_PORT or 8420.")
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def serve(host: str, port: int | None, reload: bool, workers: int) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    settings = cli_settings()
    port = port or settings.api_port
    if reload and workers > 1:
        raise click.UsageError("--reload works with one worker only")
    if workers > 1 and settings.shared_cache_backend is None:
        click.echo("note: several workers and no REDIS_URL: result caching is off so workers stay consistent", err=True)
    os.environ["CONTINUUM_SERVE_WORKERS"] = str(workers)
    # WebSocket heartbeat of /v1/sync: a ping every interval; a peer silent for the idle timeout is dropped
    sync = settings.sync
    keepalive = {"ws_ping_interval": sync.ping_interval, "ws_ping_timeout": sync.idle_timeout - sync.ping_interval}
    if reload or workers > 1:
        uvicorn.run(
            "continuum.server:app_factory", factory=True, host=host, port=port, reload=reload,
            workers=workers, log_config=None, proxy_headers=True, **keepalive,
        )  # fmt: skip
        return
    from continuum.server import create_server_app

    uvicorn.run(create_server_app(settings), host=host, port=port, log_config=None, proxy_headers=True, **keepalive)


@cli.command()
@click.option("--user", "user_message", required=True, help="What the user said.")
@click.option("--ai", "ai_response", default="", help="What the assistant answered.")
@click.option("--instance", "instance_id")
@click.option("--session", "session_id")
@tenant_option
@add_options(remote_options)
@json_option
@fail_cleanly
def learn(user_message: str, ai_response: str, instance_id: str | None, session_id: str | None,
          tenant: str, url: str | None, api_key: str | None, as_json: bool) -> None:  # fmt: skip
    """Learn one conversation turn."""
    from continuum.core.operations.learn import LearnInput
    from continuum.schemas import LearnRequest, LearnResponse

    body = {"user_message": user_message, "ai_response": ai_response, "instance_id": instance_id,
            "session_id": session_id}  # fmt: skip
    data = _post_or_run("learn", (LearnRequest, LearnInput, LearnResponse), body, tenant, url, api_key)
    emit(data, as_json, lambda d: (
        f"learned: {len(d['memory_ids'])} memories, {d['concepts_extracted']} concepts, "
        f"{d['decisions_detected']} decisions, {d['links_created']} new links"
    ))  # fmt: skip


def _post_or_run(operation: str, shapes: tuple[Any, Any, Any], body: dict[str, Any], tenant: str, url: str | None,
                 api_key: str | None) -> Any:  # fmt: skip
    """Call `operation` (learn, recall, search) on a running server at `url` through the SDK,
    or run the engine's operation of that name on the configured storage. `shapes`: the
    request schema (the same checks as the server), the engine's input model, the response
    schema (the same JSON as the server)."""
    given = {k: v for k, v in body.items() if v is not None}
    if url:
        with remote(url, api_key, tenant if tenant != "default" else None) as client:
            return jsonable(getattr(client, operation)(**given))
    request_schema, input_model, response_schema = shapes
    _check(request_schema, given)

    async def action(services: Any) -> Any:
        from continuum.api.mapping import respond

        result = await getattr(services.engine, operation)(tenant, input_model(**given))
        return respond(response_schema, result).model_dump(mode="json")

    return run_async(with_services(cli_settings(), action))


def _check(schema: Any, body: dict[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        schema.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        raise click.BadParameter(f"{field}: {first['msg']}") from None


@cli.command()
@click.argument("message")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--instance", "instance_id")
@click.option("--session", "session_id")
@tenant_option
@add_options(remote_options)
@json_option
@fail_cleanly
def recall(message: str, limit: int, instance_id: str | None, session_id: str | None, tenant: str,
           url: str | None, api_key: str | None, as_json: bool) -> None:  # fmt: skip
    """Print the context block (or JSON) recalled for MESSAGE."""
    from continuum.core.operations.recall import RecallQuery
    from continuum.schemas import RecallRequest, RecallResponse

    body = {"message": message, "limit": limit, "instance_id": instance_id, "session_id": session_id}
    data = _post_or_run("recall", (RecallRequest, RecallQuery, RecallResponse), body, tenant, url, api_key)
    emit(data, as_json, lambda d: d["context"] or "(nothing relevant remembered yet)")


@cli.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid", show_default=True)
@tenant_option
@add_options(remote_options)
@json_option
@fail_cleanly
def search(query: str, limit: int, mode: str, tenant: str, url: str | None, api_key: str | None,
           as_json: bool) -> None:  # fmt: skip
    """Search memories."""
    from continuum.core.operations.search import SearchQuery
    from continuum.schemas import SearchRequest, SearchResponse

    body = {"query": query, "limit": limit, "mode": mode}
    data = _post_or_run("search", (SearchRequest, SearchQuery, SearchResponse), body, tenant, url, api_key)
    emit(data, as_json, lambda d: "\n".join(
        f"{r['score']:.3f}  {r['id']}  {r['content'][:100]}" for r in d["results"]
    ) or "(no results)")  # fmt: skip


@cli.command()
@tenant_option
@add_options(remote_options)
@json_option
@fail_cleanly
def stats(tenant: str, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Counts of memories, messages, concepts, links and decisions."""
    if url:
        with remote(url, api_key, tenant if tenant != "default" else None) as client:
            data = jsonable(client.stats())
    else:

        async def action(services: Any) -> Any:
            return asdict(await services.engine.stats(tenant))

        data = run_async(with_services(cli_settings(), action))
    emit(data, as_json, lambda d: "\n".join(f"{k:>16}: {v}" for k, v in d.items()))


@cli.command("export")
@tenant_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="JSONL file to write ('-' for standard output).")  # fmt: skip
@fail_cleanly
def export_(tenant: str, output: str) -> None:
    """Export a tenant as JSON Lines."""
    settings = cli_settings()

    async def action(services: Any) -> int:
        counts = await services.storage.counts(tenant)
        total = counts.memories + counts.messages + counts.decisions + counts.entities + counts.attention_links
        written = 0
        stream = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115, ASYNC230
        try:
            with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
                async for line in services.portability.export_lines(tenant):
                    stream.write(line)
                    if not line.startswith('{"type":"header"'):
                        written += 1
                        bar.update(1)
        finally:
            if stream is not sys.stdout:
                stream.close()
        return written

    written = run_async(with_services(settings, action))
    click.echo(f"exported {written} records of tenant {tenant} to {output}", err=True)


@cli.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@tenant_option
@fail_cleanly
def import_(source: str, tenant: str) -> None:
    """Import a JSONL export into a tenant (validated in full before writing)."""
    settings = cli_settings()
    from continuum.core.portability import PAGE
    from continuum.export_format import parse_import

    with open(source, encoding="utf-8") as handle:
        lines = handle.readlines()
    records = parse_import(lines, tenant)

    async def action(services: Any) -> tuple[dict[str, int], dict[str, int]]:
        imported: dict[str, int] = {}
        skipped: dict[str, int] = {}
        with click.progressbar(length=len(records), label="importing", file=sys.stderr) as bar:
            for start in range(0, len(records), PAGE):
                chunk = records[start : start + PAGE]
                done, passed = await services.portability.import_records(tenant, chunk)
                for kind, count in done.items():
                    imported[kind] = imported.get(kind, 0) + count
                for kind, count in passed.items():
                    skipped[kind] = skipped.get(kind, 0) + count
                bar.update(len(chunk))
        return imported, skipped

    imported, skipped = run_async(with_services(settings, action))
    click.echo(f"imported into {tenant}: {imported or 'nothing'}; skipped (already present): {skipped or 'none'}")


@cli.command()
@click.argument("destination")
@fail_cleanly
def backup(destination: str) -> None:
    """Consistent online copy of the SQLite database to DESTINATION (a file or s3://bucket/prefix)."""
    import tempfile

    settings = cli_settings()
    to_s3 = destination.startswith("s3://")
    staging = tempfile.mkdtemp(prefix="continuum-backup-") if to_s3 else ""
    target = os.path.join(staging, "backup.db") if to_s3 else destination

    async def action(services: Any) -> None:
        if not hasattr(services.storage, "backup"):
            raise click.ClickException(
                "backup copies the SQLite database; for PostgreSQL use pg_dump (see infra/backup/)"
            )
        await services.storage.backup(target)

    try:
        run_async(with_services(settings, action))
        if to_s3:
            from continuum.aws.s3 import upload_backup

            destination = upload_backup(target, destination)
    finally:
        if to_s3:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
    click.echo(f"backed up {settings.db_path} to {destination}")


@cli.command()
@click.argument("source")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@fail_cleanly
def restore(source: str, yes: bool) -> None:
    """Replace the SQLite database with the backup at SOURCE (a file, s3://bucket/key, or
    s3://bucket/prefix for the newest backup under it)."""
    import tempfile

    settings = cli_settings()
    if not yes:
        click.confirm(f"replace {settings.db_path} with {source}?", abort=True)
    from_s3 = source.startswith("s3://")
    staging = tempfile.mkdtemp(prefix="continuum-restore-") if from_s3 else ""
    local = os.path.join(staging, "backup.db") if from_s3 else source

    async def action(services: Any) -> None:
        if not hasattr(services.storage, "restore"):
            raise click.ClickException("restore works on the SQLite database; for PostgreSQL use pg_restore")
        await services.storage.restore(local)
        await services.storage.migrate()

    try:
        if from_s3:
            from continuum.aws.s3 import download_backup

            source = download_backup(source, local)
        run_async(with_services(settings, action, migrate=False))
    finally:
        if from_s3:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
    click.echo(f"restored {settings.db_path} from {source}")


@cli.command()
def doctor() -> None:
    """Check configuration, database, cache and disk; exit 1 if anything is wrong."""
    from continuum.doctor import run_checks

    results = run_checks()
    width = max(len(name) for name, _, _ in results)
    failed = False
    for name, ok, detail in results:
        mark = click.style("ok  ", fg="green") if ok else click.style("FAIL", fg="red")
        failed |= not ok
        click.echo(f"{mark} {name.ljust(width)}  {detail}")
    sys.exit(1 if failed else 0)


cli.add_command(keys)
cli.add_command(mcp_command)


def main() -> None:
    cli(prog_name="continuum")


if __name__ == "__main__":
    main()
