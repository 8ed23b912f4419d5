"""Federation's adapters and wiring: the node key (a setting, or a key file made on first
use), the HTTP transport to peers, and the service (or why there is none)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from continuum.clock import Clock
from continuum.core.federation.identity import NodeIdentity, b64url, new_seed, parse_seed
from continuum.core.federation.service import FederationConfig, FederationService, PeerError, PeerReply
from continuum.errors import ContinuumError
from continuum.ports import Storage
from continuum.settings import SettingsError
from continuum.settings.groups import FederationSettings

PEER_TIMEOUT = 10.0
MAX_PEER_ANSWER = 4 * 1024 * 1024


class FederationUnavailable(ContinuumError):
    status = 501
    code = "not_implemented"


class HttpTransport:
    """Peers over HTTP(S), one short-lived client per call (syncs are rare)."""

    def __init__(self, timeout: float = PEER_TIMEOUT) -> None:
        self.timeout = timeout

    async def node_info(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(f"{url}/v1/federation/node")
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PeerError(f"could not read {url}/v1/federation/node: {type(exc).__name__}") from None
        return answer if isinstance(answer, dict) else {}

    async def post(self, url: str, path: str, body: bytes, headers: Mapping[str, str]) -> PeerReply:
        sent = {**headers, "content-type": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(f"{url}{path}", content=body, headers=sent)
        except httpx.HTTPError as exc:
            raise PeerError(f"could not reach peer at {url}: {type(exc).__name__}") from None
        if len(response.content) > MAX_PEER_ANSWER:
            raise PeerError(f"peer at {url} answered more than {MAX_PEER_ANSWER} bytes")
        return PeerReply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)


def key_file(config: FederationSettings) -> Path:
    if config.key_file:
        return Path(config.key_file).expanduser()
    db_path = config.db_path if config.db_path and config.db_path != ":memory:" else "./data/memory.db"
    return Path(db_path).expanduser().resolve().parent / "federation.key"


def load_seed(config: FederationSettings) -> bytes:
    """The node's key seed: CONTINUUM_FEDERATION_KEY, else the key file (made, mode 0600, on
    first use)."""
    if config.key:
        try:
            return parse_seed(config.key)
        except ValueError as exc:
            raise SettingsError(f"CONTINUUM_FEDERATION_KEY {exc}") from None
    path = key_file(config)
    if path.exists():
        try:
            return parse_seed(path.read_text("ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SettingsError(f"federation key file {path}: {exc} (CONTINUUM_FEDERATION_KEY_FILE)") from None
    seed = new_seed()
    path.parent.mkdir(parents=True, exist_ok=True)
    # written aside, then linked into place: processes starting together (--workers n) all
    # end up with the one key that got there first, never a half-written file
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(b64url(seed) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return load_seed(config)
    finally:
        temporary.unlink(missing_ok=True)
    return seed


def build_federation(
    config: FederationSettings, storage: Storage, clock: Clock
) -> FederationService | FederationUnavailable | None:
    """The service when CONTINUUM_ENABLE_FEDERATION is on; the reason it cannot run where
    `cryptography` is missing (a Worker: no Pyodide wheel of it); None when off."""
    if not config.enabled:
        return None
    if importlib.util.find_spec("cryptography") is None:
        return FederationUnavailable(
            "federation signs requests with Ed25519 and needs the cryptography package, which this "
            "runtime lacks (Cloudflare Workers: no Pyodide wheel): pip install 'continuum-memory[encryption]'"
        )
    identity = NodeIdentity(load_seed(config))
    settings = FederationConfig(min_tenants=config.min_tenants, ratio=config.ratio, max_skew=config.max_skew)
    return FederationService(storage.federation, identity, HttpTransport(), clock, settings)
