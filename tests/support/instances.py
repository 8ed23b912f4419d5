"""Several `continuum serve` processes serving one deployment: the same database, admin
key and cache prefix, each with its own way to the shared cache (directly, or through
a forwarder a test can cut), as containers behind a load balancer are."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

from tests.support.servers import RunningServer, base_settings, clean_env, continuum_serve


@contextlib.contextmanager
def serve_instances(
    common: dict[str, str], per_instance: list[dict[str, str]], workdir: Path
) -> Iterator[list[RunningServer]]:
    """One running server per entry of `per_instance` (its own settings on top of
    `common`), auth on, all stopped afterwards."""
    settings = {**base_settings(True), "CONTINUUM_CACHE_PREFIX": f"inst:{secrets.token_hex(6)}:", **common}
    running: list[RunningServer] = []
    try:
        for own in per_instance:
            process = continuum_serve(clean_env({**settings, **own}), workdir)
            process.start()
            running.append(RunningServer(
                url=process.url, admin_key=settings["CONTINUUM_API_KEY"], require_api_key=True,
                process=process, target="instances",
            ))  # fmt: skip
        yield running
    finally:
        for server in running:
            server.process.stop()
