"""Federation's storage (migration 0011, storage/sql/federation.py), the same cases on every
adapter: opt-in, the k-anonymous node aggregate, peers and the contribute-to-access ratio,
and received concepts kept apart from tenants'."""

from __future__ import annotations

import secrets

import pytest

from continuum.models import FederatedConcept, FederatedLink, FederationPeer
from continuum.ports import Storage
from tests.contract.test_storage_contract import NOW, learn_write

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _tenant_with(storage: Storage, concepts: list[str], *, opt_in: bool = True) -> str:
    tenant = f"f-{secrets.token_hex(6)}"
    await storage.ensure_tenant(tenant, None, NOW)
    await storage.learn(tenant, learn_write(tenant, " ".join(concepts), "", concepts))
    if opt_in:
        await storage.federation.set_opt_in(tenant, True, NOW)
    return tenant


def _peer(contributed: int = 0) -> FederationPeer:
    peer_id = secrets.token_hex(8)
    return FederationPeer(peer_id, f"http://{peer_id}.example", f"key-{peer_id}", contributed, 0, NOW)


async def test_opt_in_is_per_tenant_and_reversible(fresh_storage: Storage) -> None:
    fed = fresh_storage.federation
    assert await fed.is_opted_in("t-a") is False
    await fed.set_opt_in("t-a", True, NOW)
    await fed.set_opt_in("t-a", True, NOW)  # twice: no error
    assert await fed.is_opted_in("t-a") and not await fed.is_opted_in("t-b")
    await fed.set_opt_in("t-a", False, NOW)
    assert await fed.is_opted_in("t-a") is False


async def test_aggregate_shares_only_what_k_opted_in_tenants_have(fresh_storage: Storage) -> None:
    s = fresh_storage
    await _tenant_with(s, ["Redis", "Aurora", "Kim"])
    await _tenant_with(s, ["Redis", "Aurora", "Secretproject"])
    await _tenant_with(s, ["Redis", "Aurora", "Kim"], opt_in=False)  # not counted
    shared = await s.federation.shared_concepts(min_tenants=2, limit=10)
    assert sorted(c.name for c in shared) == ["aurora", "redis"]
    assert all(c.entity_type for c in shared)
    links = await s.federation.shared_links(min_tenants=2, limit=10)
    assert [(lk.concept_a, lk.concept_b) for lk in links] == [("aurora", "redis")]
    assert 0 < links[0].strength < 1
    assert {c.name for c in await s.federation.shared_concepts(min_tenants=1, limit=10)} == {
        "aurora", "redis", "kim", "secretproject",
    }  # fmt: skip
    assert len(await s.federation.shared_concepts(min_tenants=1, limit=2)) == 2


async def test_an_erased_tenant_no_longer_counts(fresh_storage: Storage) -> None:
    s = fresh_storage
    first = await _tenant_with(s, ["Redis"])
    await _tenant_with(s, ["Redis"])
    assert [c.name for c in await s.federation.shared_concepts(min_tenants=2, limit=10)] == ["redis"]
    await s.erase_tenant(first)
    assert await s.federation.shared_concepts(min_tenants=2, limit=10) == []
    assert await s.federation.is_opted_in(first) is False  # nothing of the tenant is left


async def test_peers_register_list_and_delete(storage: Storage) -> None:
    fed = storage.federation
    peer = await fed.add_peer(_peer())
    assert await fed.get_peer(peer.peer_id) == peer and peer.created_at == NOW
    moved = await fed.add_peer(FederationPeer(peer.peer_id, "http://moved", peer.public_key, 9, 9, NOW))
    assert moved.url == "http://moved" and moved.contributed == 0  # re-registering keeps the counts
    assert await fed.add_contribution("no-such-peer", [FederatedConcept("x", "name")]) == 0
    assert peer.peer_id in {p.peer_id for p in await fed.list_peers()}
    assert await fed.add_contribution(peer.peer_id, [FederatedConcept("x", "name")]) == 1
    assert await fed.delete_peer(peer.peer_id) is True
    assert await fed.delete_peer(peer.peer_id) is False and await fed.get_peer(peer.peer_id) is None


async def test_take_is_limited_by_ratio_times_contribution(storage: Storage) -> None:
    fed = storage.federation
    peer = await fed.add_peer(_peer())
    assert await fed.charge_take(peer.peer_id, 5, 2.0) == 0  # gave nothing: may take nothing
    given = [FederatedConcept(f"c{i}", "name") for i in range(3)]
    assert await fed.add_contribution(peer.peer_id, given) == 3
    assert await fed.add_contribution(peer.peer_id, given[:2]) == 3  # the same concepts again: no credit
    assert await fed.charge_take(peer.peer_id, 4, 2.0) == 4
    assert await fed.charge_take(peer.peer_id, 4, 2.0) == 2  # 2.0 x 3 = 6 in all
    assert await fed.charge_take(peer.peer_id, 1, 2.0) == 0
    after = await fed.get_peer(peer.peer_id)
    assert after is not None and (after.contributed, after.taken) == (3, 6)
    assert await fed.charge_take("no-such-peer", 1, 2.0) == 0


async def test_received_concepts_are_kept_apart_and_merge(storage: Storage, tenant: str) -> None:
    fed = storage.federation
    tag = secrets.token_hex(4)
    a, b = f"alpha{tag}", f"beta{tag}"
    await fed.store_federated([FederatedConcept(a, "name"), FederatedConcept(b, "tech")], [FederatedLink(a, b, 0.3)])
    await fed.store_federated([FederatedConcept(a, "name")], [FederatedLink(a, b, 0.6)])
    await fed.store_federated([], [FederatedLink(a, b, 0.4)])  # a link keeps its strongest strength
    found = {c.name for c in await fed.federated_concepts(entity_type=None, limit=10_000, offset=0)}
    assert {a, b} <= found
    assert FederatedConcept(b, "tech") in await fed.federated_concepts(entity_type="tech", limit=10_000, offset=0)
    assert await fed.federated_links([a], limit=10) == [FederatedLink(a, b, 0.6)]
    assert await fed.federated_links([], limit=10) == []
    assert await storage.find_entities(tenant, [a, b]) == []  # never a tenant's concept
