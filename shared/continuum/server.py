"""The long-running server (`continuum serve`): all routes, Prometheus, migrations at start.

Glue only: the local-server profile (continuum.runtime.profiles) says what this runtime
does; `continuum.runtime.assembly` builds it.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from continuum.api.app import create_app
from continuum.runtime.assembly import assemble
from continuum.runtime.profiles import local_server, local_server_from_environ
from continuum.settings import Settings, load_settings


def create_server_app(settings: Settings | None = None, *, workers: int = 1) -> FastAPI:
    return create_app(assemble(local_server(workers), settings or load_settings()))


def app_factory() -> FastAPI:
    """Import target for `uvicorn --factory continuum.server:app_factory`, which every worker
    process of `continuum serve --workers N` (and --reload) calls: the worker count comes
    from CONTINUUM_SERVE_WORKERS, set by the CLI."""
    return create_app(assemble(local_server_from_environ(os.environ), load_settings()))
