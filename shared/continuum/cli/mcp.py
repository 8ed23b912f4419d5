"""`continuum mcp`: the MCP server over stdio, for Claude Desktop, Claude Code, Cursor...

On the configured database directly (the same settings as every command; `--tenant`
chooses whose memory), or against a running server with `--url` and `--api-key` (the
tenant is the key's). Stdout carries the protocol alone: logs go to stderr.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from continuum.cli.common import add_options, cli_settings, fail_cleanly, remote_options, run_async, tenant_option


def _stderr_logging(level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


async def _serve_local(tenant: str) -> None:
    from continuum.cli.common import with_services
    from continuum.mcp.backend import EngineBackend
    from continuum.mcp.stdio import build_server

    async def action(services: Any) -> None:
        await build_server(EngineBackend(services.engine, tenant)).run_stdio_async()

    await with_services(cli_settings(), action)


async def _serve_remote(url: str, api_key: str | None) -> None:
    from continuum.mcp.remote import remote_backend
    from continuum.mcp.stdio import build_server

    async with remote_backend(url, api_key) as backend:
        await build_server(backend).run_stdio_async()


@click.command("mcp")
@add_options(remote_options)
@tenant_option
@fail_cleanly
def mcp_command(url: str | None, api_key: str | None, tenant: str) -> None:
    """Serve CONTINUUM's memory as MCP tools over stdio (for MCP clients to launch)."""
    from continuum.ids import is_valid_tenant_id

    _stderr_logging()
    if url:
        run_async(_serve_remote(url, api_key))
        return
    if not is_valid_tenant_id(tenant):
        raise click.BadParameter(f"{tenant!r} is not a valid tenant id", param_hint="--tenant")
    run_async(_serve_local(tenant))
