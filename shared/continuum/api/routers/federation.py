"""`/v1/federation/...`: peers, tenants' consent, received concepts, and the two routes other
nodes call (docs/federation.md).

The admin key manages peers; a tenant key opts its own tenant in or out and reads what
peers sent. The exchange routes take no API key: the caller is a registered node proven by
its Ed25519 signature, and every answer to it (errors too) is signed by this node."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from continuum.api.deps import AdminDep, PrincipalDep, ServicesDep
from continuum.api.openapi import error
from continuum.api.routes import RouteTable
from continuum.errors import ContinuumError
from continuum.schemas import Model, Strict

if TYPE_CHECKING:
    from continuum.core.federation.service import FederationService
    from continuum.models import FederationPeer
    from continuum.services import Services

router = RouteTable(tags=["federation"])

OFF = {404: error("Federation is off (CONTINUUM_ENABLE_FEDERATION)"), 501: error("This runtime cannot federate")}
PEER_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The peer's node id")]
SIGNED_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    "security": [],
}


class InvalidJson(ContinuumError):
    status = 400
    code = "invalid_json"


class FederationOff(ContinuumError):
    status = 404
    code = "federation_disabled"


def federation(services: Services) -> FederationService:
    found = services.federation
    if found is None:
        raise FederationOff("federation is off on this node (CONTINUUM_ENABLE_FEDERATION=true turns it on)")
    if isinstance(found, ContinuumError):
        raise found
    return found


# ---- schemas ---------------------------------------------------------------------------------


class NodeInfo(Model):
    node_id: str
    public_key: str = Field(description="Ed25519 public key, base64url (43 characters)")
    protocol: str


class PeerCreate(Strict):
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500, description="Where the peer answers")
    public_key: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{43}$",
        description="The peer's public key (GET /v1/federation/node on the peer); absent: asked from the peer",
    )  # fmt: skip


class Peer(Model):
    peer_id: str
    url: str
    public_key: str
    contributed: int = Field(description="Distinct concepts the peer gave this node")
    taken: int = Field(description="Concepts the peer took from this node")


class PeerList(Model):
    peers: list[Peer]


class SyncReport(Model):
    peer_id: str
    pushed: int
    pulled: int
    links_pulled: int
    pull_refused: str | None = None


class OptIn(Model):
    tenant_id: str
    opted_in: bool


class FederatedLinkOut(Model):
    a: str
    b: str
    strength: float


class FederatedConceptOut(Model):
    name: str
    type: str


class FederatedConcepts(Model):
    concepts: list[FederatedConceptOut]
    links: list[FederatedLinkOut] = Field(description="Received links between the listed concepts")


def _peer(peer: FederationPeer) -> Peer:
    return Peer(
        peer_id=peer.peer_id, url=peer.url, public_key=peer.public_key, contributed=peer.contributed, taken=peer.taken
    )


# ---- this node and its peers (admin) ------------------------------------------------------------


@router.get("/v1/federation/node", response_model=NodeInfo, responses=OFF, openapi_extra={"security": []})
async def node(services: ServicesDep) -> NodeInfo:
    """This node's id and public key: what a peer's admin registers (public by nature)."""
    return NodeInfo(**federation(services).node())


@router.get("/v1/federation/peers", response_model=PeerList, responses=OFF)
async def list_peers(_: AdminDep, services: ServicesDep) -> PeerList:
    return PeerList(peers=[_peer(p) for p in await federation(services).store.list_peers()])


@router.post(
    "/v1/federation/peers",
    response_model=Peer,
    status_code=201,
    responses={**OFF, 502: error("The peer could not be reached")},
)
async def register_peer(body: PeerCreate, _: AdminDep, services: ServicesDep) -> Peer:
    """Register a peer by URL and public key (without a key, the peer is asked for it).
    Both nodes' admins register each other; registering again updates the URL."""
    return _peer(await federation(services).register(body.url, body.public_key))


@router.delete("/v1/federation/peers/{peer_id}", response_model=Peer, responses=OFF)
async def delete_peer(peer_id: PEER_ID, _: AdminDep, services: ServicesDep) -> Peer:
    service = federation(services)
    peer = await service.peer(peer_id)
    await service.store.delete_peer(peer_id)
    return _peer(peer)


@router.post(
    "/v1/federation/peers/{peer_id}/sync", response_model=SyncReport, response_model_exclude_none=True,
    responses={**OFF, 502: error("The peer could not be reached or answered wrongly")},
)  # fmt: skip
async def sync_peer(peer_id: PEER_ID, _: AdminDep, services: ServicesDep) -> SyncReport:
    """Give the peer this node's share of concepts, then take what the peer allows."""
    return SyncReport(**await federation(services).sync(peer_id))


# ---- tenants -------------------------------------------------------------------------------------


async def _opt_in(principal: Any, services: Services, opted_in: bool | None) -> OptIn:
    store = federation(services).store
    if opted_in is not None:
        await store.set_opt_in(principal.tenant_id, opted_in, services.clock.now())
    return OptIn(tenant_id=principal.tenant_id, opted_in=await store.is_opted_in(principal.tenant_id))


@router.get("/v1/federation/optin", response_model=OptIn, responses=OFF)
async def get_opt_in(principal: PrincipalDep, services: ServicesDep) -> OptIn:
    """Whether the caller's tenant lets its concepts count towards what this node shares."""
    return await _opt_in(principal, services, None)


@router.put("/v1/federation/optin", response_model=OptIn, responses=OFF)
async def opt_in(principal: PrincipalDep, services: ServicesDep) -> OptIn:
    """Let the tenant's concepts count (shared only when enough tenants have the same one)."""
    return await _opt_in(principal, services, True)


@router.delete("/v1/federation/optin", response_model=OptIn, responses=OFF)
async def opt_out(principal: PrincipalDep, services: ServicesDep) -> OptIn:
    return await _opt_in(principal, services, False)


@router.get("/v1/federation/concepts", response_model=FederatedConcepts, responses=OFF)
async def received_concepts(
    _: PrincipalDep,
    services: ServicesDep,
    type: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Only this type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FederatedConcepts:
    """Concepts peers sent this node (node-level, the same for every tenant), and their links."""
    store = federation(services).store
    concepts = await store.federated_concepts(entity_type=type, limit=limit, offset=offset)
    names = sorted({c.name for c in concepts})
    links = [
        lk for lk in await store.federated_links(names, limit=5 * limit) if {lk.concept_a, lk.concept_b} <= set(names)
    ]
    return FederatedConcepts(
        concepts=[FederatedConceptOut(name=c.name, type=c.entity_type) for c in concepts],
        links=[FederatedLinkOut(a=lk.concept_a, b=lk.concept_b, strength=lk.strength) for lk in links],
    )


# ---- node to node (signed) --------------------------------------------------------------------------


async def _exchange(request: Request, services: Services, kind: str) -> Response:
    service = federation(services)  # off: an unsigned 404, this node may have no key
    path = request.url.path
    body = await request.body()
    nonce = request.headers.get("x-continuum-nonce", "")
    try:
        peer, signed = await service.authenticate(request.method, path, request.headers, body)
        nonce = signed.nonce
        try:
            payload = json.loads(body)
        except ValueError:
            raise InvalidJson("request body is not valid JSON") from None
        if kind == "push":
            status, answer = 200, await service.receive_push(peer, payload)
        else:
            status, answer = 200, await service.answer_pull(peer, payload)
    except ContinuumError as exc:
        status, answer = exc.status, {"error": {"code": exc.code, "message": exc.message}}
    content = json.dumps(answer, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    headers = service.answer_headers(status, path, nonce, content) if len(nonce) == 32 else {}
    return Response(content=content, status_code=status, headers=headers, media_type="application/json")


EXCHANGE = {
    **OFF,
    400: error("The body is not valid JSON"),
    401: error("Unsigned, wrongly signed, stale or replayed request, or unknown node"),
    403: error("The contribute-to-access ratio is spent"),
    422: error("The payload is not concepts"),
}


@router.post("/v1/federation/exchange/push", responses=EXCHANGE, openapi_extra=SIGNED_BODY)
async def exchange_push(request: Request, services: ServicesDep) -> Response:
    """A peer gives concepts (names, types, link strengths); it is credited once per distinct concept."""
    return await _exchange(request, services, "push")


@router.post("/v1/federation/exchange/pull", responses=EXCHANGE, openapi_extra=SIGNED_BODY)
async def exchange_pull(request: Request, services: ServicesDep) -> Response:
    """A peer takes this node's share, at most ratio x what it gave (CONTINUUM_FEDERATION_RATIO)."""
    return await _exchange(request, services, "pull")
