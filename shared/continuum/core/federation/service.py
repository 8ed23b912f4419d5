"""Federation: this node's peers, what it shares with them, what it takes from them.

What leaves the node is built in one place (`outgoing`: the k-anonymous aggregate of
opted-in tenants' concept names, types and link strengths) and goes through one encoder
(`protocol.concepts_payload`); answers to peers are signed like requests, and errors
answered to peers are short fixed sentences, so no byte sent to another node can carry a
tenant, user, session or instance id, a stored time or memory content."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from continuum.clock import Clock
from continuum.core.federation import protocol
from continuum.core.federation.identity import NodeIdentity, verify
from continuum.errors import ContinuumError, Forbidden, InvalidInput, NotFound, Unauthorized
from continuum.models import FederatedConcept, FederatedLink, FederationPeer
from continuum.ports import FederationStore

PUSH_PATH = "/v1/federation/exchange/push"
PULL_PATH = "/v1/federation/exchange/pull"
MAX_SEEN_NONCES = 100_000


class RatioExceeded(Forbidden):
    code = "federation_ratio"


class PeerError(ContinuumError):
    status = 502
    code = "peer_error"


class FederationConfig(NamedTuple):
    min_tenants: int  # k: a concept is shared only when this many opted-in tenants have it
    ratio: float  # a peer may take at most ratio x the distinct concepts it gave
    max_skew: int  # seconds a signature's time may differ from this node's clock
    share_limit: int = protocol.MAX_CONCEPTS


class PeerReply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class PeerTransport(Protocol):
    """Carries signed requests to peers (HTTP in `continuum.runtime.federation`)."""

    async def node_info(self, url: str) -> dict[str, Any]: ...
    async def post(self, url: str, path: str, body: bytes, headers: Mapping[str, str]) -> PeerReply: ...


def encode(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class FederationService:
    def __init__(
        self,
        store: FederationStore,
        identity: NodeIdentity,
        transport: PeerTransport,
        clock: Clock,
        config: FederationConfig,
    ) -> None:
        self.store = store
        self.identity = identity
        self.transport = transport
        self.clock = clock
        self.config = config
        self._seen: dict[str, float] = {}  # nonce -> when it may be forgotten (monotonic)

    # ---- this node -----------------------------------------------------------------------

    def node(self) -> dict[str, Any]:
        key = self.identity.public_key
        return {"node_id": protocol.node_id(key), "public_key": key, "protocol": protocol.VERSION}

    def sign(self, method: str, path: str, body: bytes, *, nonce: str | None = None) -> protocol.Signed:
        key = self.identity.public_key
        nonce = nonce or secrets.token_hex(16)
        timestamp = int(self.clock.now().timestamp())
        signature = self.identity.sign(protocol.signing_input(method, path, timestamp, nonce, body, key))
        return protocol.Signed(key, timestamp, nonce, signature)

    def answer_headers(self, status: int, path: str, nonce: str, body: bytes) -> dict[str, str]:
        """The signature of an answer to a peer, bound to its request by the nonce."""
        return self.sign(protocol.response_method(status), path, body, nonce=nonce).headers()

    # ---- peers ---------------------------------------------------------------------------

    async def register(self, url: str, public_key: str | None) -> FederationPeer:
        """Register a peer by URL and key; without a key, ask the peer for it (the admin
        trusts the URL they typed; later exchanges are signed with that key)."""
        url = url.rstrip("/")
        if public_key is None:
            info = await self.transport.node_info(url)
            public_key = info.get("public_key") if isinstance(info, dict) else None
            if not isinstance(public_key, str):
                raise PeerError(f"{url} did not answer with a federation node's public key")
        if not protocol.KEY_PATTERN.match(public_key):
            raise InvalidInput("public_key: must be an Ed25519 public key, 43 characters of base64url")
        if public_key == self.identity.public_key:
            raise InvalidInput("public_key: is this node's own key")
        peer = FederationPeer(protocol.node_id(public_key), url, public_key, 0, 0, self.clock.now())
        return await self.store.add_peer(peer)

    async def peer(self, peer_id: str) -> FederationPeer:
        found = await self.store.get_peer(peer_id)
        if found is None:
            raise NotFound(f"no federation peer {peer_id!r}")
        return found

    # ---- requests from peers ---------------------------------------------------------------

    async def authenticate(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[FederationPeer, protocol.Signed]:
        """The registered peer that signed this request; 401 naming what is wrong."""
        signed = protocol.read_signed(headers)
        if not protocol.NONCE_PATTERN.match(signed.nonce):
            raise Unauthorized(f"{protocol.NONCE_HEADER} must be 32 hex digits")
        skew = abs(self.clock.now().timestamp() - signed.timestamp)
        if skew > self.config.max_skew:
            raise Unauthorized(
                f"stale or future signature: {protocol.TIME_HEADER} is more than {self.config.max_skew} s "
                "from this node's clock (CONTINUUM_FEDERATION_MAX_SKEW)"
            )
        peer = await self.store.get_peer(protocol.node_id(signed.public_key))
        if peer is None or peer.public_key != signed.public_key:
            raise Unauthorized("unknown node: this node has not registered its key (POST /v1/federation/peers)")
        message = protocol.signing_input(method, path, signed.timestamp, signed.nonce, body, signed.public_key)
        if not verify(signed.public_key, message, signed.signature):
            raise Unauthorized("bad signature: it does not verify with the registered key of this node")
        self._remember(signed.nonce)
        return peer, signed

    def _remember(self, nonce: str) -> None:
        now = time.monotonic()
        if nonce in self._seen and self._seen[nonce] > now:
            raise Unauthorized("replayed request: this nonce was already used")
        if len(self._seen) >= MAX_SEEN_NONCES:
            self._seen = {n: t for n, t in self._seen.items() if t > now}
        # twice the skew: a signature stays acceptable for max_skew on either side of its time
        self._seen[nonce] = now + 2 * self.config.max_skew

    async def receive_push(self, peer: FederationPeer, payload: Any) -> dict[str, Any]:
        concepts, links = protocol.parse_concepts_payload(payload)
        await self.store.store_federated(concepts, links)
        contributed = await self.store.add_contribution(peer.peer_id, concepts)
        return {"accepted": len(concepts), "links": len(links), "contributed": contributed}

    async def answer_pull(self, peer: FederationPeer, payload: Any) -> dict[str, Any]:
        limit = protocol.parse_pull(payload)
        concepts, links = await self.outgoing(limit)
        if not concepts:
            return protocol.concepts_payload([], [])
        granted = await self.store.charge_take(peer.peer_id, len(concepts), self.config.ratio)
        if granted == 0:
            current = await self.peer(peer.peer_id)
            raise RatioExceeded(
                f"contribute-to-access ratio {self.config.ratio:g}: your node gave {current.contributed} "
                f"concepts and took {current.taken}; push concepts before pulling more"
            )
        return protocol.concepts_payload(concepts[:granted], links)

    async def outgoing(self, limit: int | None = None) -> tuple[list[FederatedConcept], list[FederatedLink]]:
        """What this node shares: the k-anonymous aggregate of opted-in tenants."""
        limit = min(limit or self.config.share_limit, self.config.share_limit)
        k = self.config.min_tenants
        concepts = await self.store.shared_concepts(min_tenants=k, limit=limit)
        links = await self.store.shared_links(min_tenants=k, limit=protocol.MAX_LINKS) if concepts else []
        return concepts, links

    # ---- requests to peers ------------------------------------------------------------------

    async def _call(self, peer: FederationPeer, path: str, payload: Mapping[str, Any]) -> tuple[int, Any]:
        body = encode(payload)
        signed = self.sign("POST", path, body)
        reply = await self.transport.post(peer.url, path, body, signed.headers())
        answer = protocol.read_signed(reply.headers) if reply.headers.get(protocol.SIGNATURE_HEADER) else None
        message = protocol.signing_input(
            protocol.response_method(reply.status), path, answer.timestamp if answer else 0, signed.nonce,
            reply.body, peer.public_key,
        )  # fmt: skip
        if answer is None or answer.public_key != peer.public_key or answer.nonce != signed.nonce:
            raise PeerError(f"peer {peer.peer_id} answered {reply.status} without its signature")
        if not verify(peer.public_key, message, answer.signature):
            raise PeerError(f"peer {peer.peer_id} answered with a signature that does not verify")
        try:
            return reply.status, json.loads(reply.body)
        except ValueError:
            raise PeerError(f"peer {peer.peer_id} answered {reply.status} with a body that is not JSON") from None

    async def sync(self, peer_id: str) -> dict[str, Any]:
        """Give the peer this node's share, then take what the peer allows in return."""
        peer = await self.peer(peer_id)
        concepts, links = await self.outgoing()
        status, answer = await self._call(peer, PUSH_PATH, protocol.concepts_payload(concepts, links))
        if status != 200:
            raise PeerError(f"peer {peer.peer_id} refused the push ({status}): {_message(answer)}")
        report: dict[str, Any] = {"peer_id": peer.peer_id, "pushed": len(concepts), "pulled": 0, "links_pulled": 0}
        status, answer = await self._call(peer, PULL_PATH, {"limit": self.config.share_limit})
        if status != 200:
            report["pull_refused"] = _message(answer)
            return report
        try:
            received, received_links = protocol.parse_concepts_payload(answer)
        except InvalidInput as exc:
            raise PeerError(f"peer {peer.peer_id} sent concepts this node refuses: {exc.message}") from None
        await self.store.store_federated(received, received_links)
        report.update(pulled=len(received), links_pulled=len(received_links))
        return report


def _message(answer: Any) -> str:
    error = answer.get("error") if isinstance(answer, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message)[:300] if message else "no message"
