"""Federation's tables (migration 0011) with one SQL shape in every dialect.

The reads of tenants' concepts return node-level aggregates only: a concept (or a link)
counts when at least `min_tenants` opted-in tenants have it, and what comes back names no
tenant, holds no time and no count of tenants."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from continuum.models import FederatedConcept, FederatedLink, FederationPeer
from continuum.storage.sql.dialect import Dialect, Runner, Statement

PEER_COLUMNS = "peer_id, url, public_key, contributed, taken, created_at"
# tenants that opted in and still exist (an erased tenant's row in `tenants` is gone)
OPTED_IN = "SELECT o.tenant_id FROM federation_optin o JOIN tenants t ON t.tenant_id = o.tenant_id"
TAKE_ATTEMPTS = 5


class SqlFederation:
    """The `FederationStore` port over a runner and its dialect."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect

    def _peer(self, row: object) -> FederationPeer:
        r: dict = row  # type: ignore[assignment]
        return FederationPeer(
            peer_id=r["peer_id"], url=r["url"], public_key=r["public_key"], contributed=int(r["contributed"]),
            taken=int(r["taken"]), created_at=self.d.rows.moment(r["created_at"]),
        )  # fmt: skip

    # ---- tenants' consent and the node's aggregate -----------------------------------------

    async def set_opt_in(self, tenant_id: str, opted_in: bool, now: datetime) -> None:
        p = self.d.p
        if opted_in:
            statement: Statement = (
                f"INSERT INTO federation_optin (tenant_id, created_at) VALUES ({p}, {p}) "
                "ON CONFLICT (tenant_id) DO NOTHING",
                (tenant_id, self.d.moment(now)),
            )
        else:
            statement = (f"DELETE FROM federation_optin WHERE tenant_id = {p}", (tenant_id,))
        await self.db.run_batch([statement])

    async def is_opted_in(self, tenant_id: str) -> bool:
        rows = await self.db.fetch(f"SELECT 1 AS one FROM federation_optin WHERE tenant_id = {self.d.p}", (tenant_id,))
        return bool(rows)

    async def shared_concepts(self, *, min_tenants: int, limit: int) -> list[FederatedConcept]:
        p = self.d.p
        rows = await self.db.fetch(
            "SELECT name_key, entity_type FROM entities "
            f"WHERE tenant_id IN ({OPTED_IN}) GROUP BY name_key, entity_type "
            f"HAVING COUNT(DISTINCT tenant_id) >= {p} "
            f"ORDER BY COUNT(DISTINCT tenant_id) DESC, name_key, entity_type LIMIT {p}",
            (min_tenants, limit),
        )
        return [FederatedConcept(name=r["name_key"], entity_type=r["entity_type"]) for r in rows]

    async def shared_links(self, *, min_tenants: int, limit: int) -> list[FederatedLink]:
        """Links that `min_tenants` opted-in tenants have, with their mean strength."""
        p = self.d.p
        rows = await self.db.fetch(
            "SELECT concept_a, concept_b, AVG(strength) AS strength FROM attention_links "
            f"WHERE tenant_id IN ({OPTED_IN}) GROUP BY concept_a, concept_b "
            f"HAVING COUNT(DISTINCT tenant_id) >= {p} "
            f"ORDER BY COUNT(DISTINCT tenant_id) DESC, concept_a, concept_b LIMIT {p}",
            (min_tenants, limit),
        )
        return [FederatedLink(r["concept_a"], r["concept_b"], float(r["strength"])) for r in rows]

    # ---- peers ---------------------------------------------------------------------------

    async def add_peer(self, peer: FederationPeer) -> FederationPeer:
        """Register a peer; registering the same key again updates its URL only."""
        p = self.d.p
        await self.db.run_batch(
            [
                (
                    f"INSERT INTO federation_peers ({PEER_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {p}) "
                    "ON CONFLICT (peer_id) DO UPDATE SET url = excluded.url",
                    (peer.peer_id, peer.url, peer.public_key, peer.contributed, peer.taken,
                     self.d.moment(peer.created_at)),
                )
            ]
        )  # fmt: skip
        stored = await self.get_peer(peer.peer_id)
        assert stored is not None
        return stored

    async def get_peer(self, peer_id: str) -> FederationPeer | None:
        rows = await self.db.fetch(
            f"SELECT {PEER_COLUMNS} FROM federation_peers WHERE peer_id = {self.d.p}", (peer_id,)
        )
        return self._peer(rows[0]) if rows else None

    async def list_peers(self) -> list[FederationPeer]:
        rows = await self.db.fetch(f"SELECT {PEER_COLUMNS} FROM federation_peers ORDER BY created_at, peer_id")
        return [self._peer(r) for r in rows]

    async def delete_peer(self, peer_id: str) -> bool:
        if await self.get_peer(peer_id) is None:
            return False
        p = self.d.p
        await self.db.run_batch(
            [
                (f"DELETE FROM federation_contributions WHERE peer_id = {p}", (peer_id,)),
                (f"DELETE FROM federation_peers WHERE peer_id = {p}", (peer_id,)),
            ]
        )
        return True

    async def add_contribution(self, peer_id: str, concepts: Sequence[FederatedConcept]) -> int:
        """Credit the peer with the concepts it gave (each distinct concept once, however
        often sent); return its contribution in all."""
        p = self.d.p
        statements: list[Statement] = [
            (
                f"INSERT INTO federation_contributions (peer_id, name, entity_type) VALUES ({p}, {p}, {p}) "
                "ON CONFLICT (peer_id, name, entity_type) DO NOTHING",
                (peer_id, c.name, c.entity_type),
            )
            for c in concepts
        ]
        statements.append(
            (
                "UPDATE federation_peers SET contributed = "
                f"(SELECT COUNT(*) FROM federation_contributions WHERE peer_id = {p}) WHERE peer_id = {p}",
                (peer_id, peer_id),
            )
        )
        await self.db.run_batch(statements)
        peer = await self.get_peer(peer_id)
        return peer.contributed if peer is not None else 0

    async def charge_take(self, peer_id: str, wanted: int, ratio: float) -> int:
        """Charge the peer for up to `wanted` concepts within floor(ratio x contributed) in
        all; return how many it may take (0: none left). The update only lands when `taken`
        is still what was read, so concurrent pulls cannot together exceed the ratio."""
        p = self.d.p
        for _ in range(TAKE_ATTEMPTS):
            peer = await self.get_peer(peer_id)
            if peer is None:
                return 0
            grant = min(wanted, math.floor(ratio * peer.contributed) - peer.taken)
            if grant <= 0:
                return 0
            await self.db.run_batch(
                [
                    (
                        f"UPDATE federation_peers SET taken = taken + {p} WHERE peer_id = {p} AND taken = {p}",
                        (grant, peer_id, peer.taken),
                    )
                ]
            )
            after = await self.get_peer(peer_id)
            if after is not None and after.taken == peer.taken + grant and after.contributed == peer.contributed:
                return grant
        return 0

    # ---- what peers sent -------------------------------------------------------------------

    async def store_federated(self, concepts: Sequence[FederatedConcept], links: Sequence[FederatedLink]) -> None:
        """Keep received concepts and links (a link keeps the strongest strength seen)."""
        p = self.d.p
        strongest = "GREATEST" if self.d.name == "postgres" else "MAX"
        statements: list[Statement] = [
            (
                f"INSERT INTO federated_concepts (name, entity_type) VALUES ({p}, {p}) "
                "ON CONFLICT (name, entity_type) DO NOTHING",
                (c.name, c.entity_type),
            )
            for c in concepts
        ]
        statements += [
            (
                f"INSERT INTO federated_links (concept_a, concept_b, strength) VALUES ({p}, {p}, {p}) "
                "ON CONFLICT (concept_a, concept_b) DO UPDATE SET "
                f"strength = {strongest}(federated_links.strength, excluded.strength)",
                (link.concept_a, link.concept_b, link.strength),
            )
            for link in links
        ]
        if statements:
            await self.db.run_batch(statements)

    async def federated_concepts(self, *, entity_type: str | None, limit: int, offset: int) -> list[FederatedConcept]:
        p = self.d.p
        where, params = ("", []) if entity_type is None else (f"WHERE entity_type = {p} ", [entity_type])
        rows = await self.db.fetch(
            f"SELECT name, entity_type FROM federated_concepts {where}ORDER BY name, entity_type LIMIT {p} OFFSET {p}",
            (*params, limit, offset),
        )
        return [FederatedConcept(r["name"], r["entity_type"]) for r in rows]

    async def federated_links(self, names: Sequence[str], *, limit: int) -> list[FederatedLink]:
        """Received links touching any of `names`, strongest first."""
        if not names:
            return []
        p, d = self.d.p, self.d
        rows = await self.db.fetch(
            "SELECT concept_a, concept_b, strength FROM federated_links "
            f"WHERE {d.in_list('concept_a')} OR {d.in_list('concept_b')} "
            f"ORDER BY strength DESC, concept_a, concept_b LIMIT {p}",
            (d.list_param(list(names)), d.list_param(list(names)), limit),
        )
        return [FederatedLink(r["concept_a"], r["concept_b"], float(r["strength"])) for r in rows]
