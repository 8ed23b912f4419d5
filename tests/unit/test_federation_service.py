"""continuum.core.federation.service over real SQLite storage: registration, the checks on
requests from peers, and a sync against a transport that answers like a peer (signed or not)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from continuum.clock import SystemClock
from continuum.core.federation import protocol
from continuum.core.federation.identity import NodeIdentity, new_seed
from continuum.core.federation.service import (
    PULL_PATH,
    PUSH_PATH,
    FederationConfig,
    FederationService,
    PeerError,
    PeerReply,
    encode,
)
from continuum.errors import InvalidInput, Unauthorized
from continuum.storage.sqlite import SqliteStorage

CONFIG = FederationConfig(min_tenants=1, ratio=1.0, max_skew=60)


class PeerService:
    """A transport whose far end is another FederationService, answering as the router does."""

    def __init__(self, peer: FederationService, *, sign: bool = True) -> None:
        self.peer = peer
        self.sign = sign

    async def node_info(self, url: str) -> dict[str, Any]:
        return self.peer.node()

    async def post(self, url: str, path: str, body: bytes, headers: Mapping[str, str]) -> PeerReply:
        caller, signed = await self.peer.authenticate("POST", path, headers, body)
        handler = self.peer.receive_push if path == PUSH_PATH else self.peer.answer_pull
        answer = encode(await handler(caller, json.loads(body)))
        sent = self.peer.answer_headers(200, path, signed.nonce, answer) if self.sign else {}
        return PeerReply(200, sent, answer)


@pytest_asyncio.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[FederationService, FederationService]]:
    stores = [SqliteStorage(str(tmp_path / f"{name}.db")) for name in ("a", "b")]
    for store in stores:
        await store.connect()
        await store.migrate()
    b = FederationService(stores[1].federation, NodeIdentity(new_seed()), None, SystemClock(), CONFIG)  # type: ignore[arg-type]
    a = FederationService(stores[0].federation, NodeIdentity(new_seed()), PeerService(b), SystemClock(), CONFIG)
    yield a, b
    for store in stores:
        await store.close()


async def test_registration_checks_the_key(pair: tuple[FederationService, FederationService]) -> None:
    a, b = pair
    with pytest.raises(InvalidInput, match="own key"):
        await a.register("http://self", a.identity.public_key)
    with pytest.raises(InvalidInput, match="public_key"):
        await a.register("http://b", "short")
    peer = await a.register("http://b/", None)  # the key asked from the peer
    assert peer.public_key == b.identity.public_key and peer.url == "http://b"


async def test_a_sync_pushes_then_pulls_and_an_unsigned_answer_is_refused(
    pair: tuple[FederationService, FederationService],
) -> None:
    a, b = pair
    peer_b = await a.register("http://b", b.identity.public_key)
    await b.register("http://a", a.identity.public_key)
    report = await a.sync(peer_b.peer_id)  # nothing to share yet on either side
    assert report == {"peer_id": peer_b.peer_id, "pushed": 0, "pulled": 0, "links_pulled": 0}
    a.transport = PeerService(b, sign=False)
    with pytest.raises(PeerError, match="without its signature"):
        await a.sync(peer_b.peer_id)


async def test_requests_from_peers_are_checked(pair: tuple[FederationService, FederationService]) -> None:
    a, b = pair
    await b.register("http://a", a.identity.public_key)
    body = b'{"limit":1}'
    headers = a.sign("POST", PULL_PATH, body).headers()
    peer, _ = await b.authenticate("POST", PULL_PATH, headers, body)
    assert peer.public_key == a.identity.public_key
    with pytest.raises(Unauthorized, match="replayed"):
        await b.authenticate("POST", PULL_PATH, headers, body)
    with pytest.raises(Unauthorized, match="bad signature"):
        await b.authenticate("POST", PUSH_PATH, a.sign("POST", PULL_PATH, body).headers(), body)
    with pytest.raises(Unauthorized, match="32 hex"):
        await b.authenticate("POST", PULL_PATH, {**headers, protocol.NONCE_HEADER: "x"}, body)
