"""Tenant API keys with one SQL shape in every dialect: create, find by hash, list, revoke,
and the throttled last-used stamp. Every statement but the lookup by hash (the hash is
the credential) is scoped by tenant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from continuum.models import ApiKeyRecord
from continuum.storage.sql.dialect import Dialect, Runner

KEY_COLUMNS = "key_hash, tenant_id, name, key_prefix, created_at, key_id, scopes, expires_at, revoked_at, last_used_at"


def encode_scopes(scopes: tuple[str, ...]) -> str:
    return " ".join(scopes)


def decode_scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class SqlKeys:
    """The `Storage` port's key methods over a runner and its dialect."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect

    def _record(self, row: Any) -> ApiKeyRecord:
        moment = self.d.rows.moment

        def optional(value: Any) -> datetime | None:
            return None if value is None else moment(value)

        return ApiKeyRecord(
            key_hash=row["key_hash"],
            tenant_id=row["tenant_id"],
            name=row["name"],
            key_prefix=row["key_prefix"],
            created_at=moment(row["created_at"]),
            key_id=row["key_id"],
            scopes=decode_scopes(row["scopes"]),
            expires_at=optional(row["expires_at"]),
            revoked_at=optional(row["revoked_at"]),
            last_used_at=optional(row["last_used_at"]),
        )

    async def create_api_key(self, record: ApiKeyRecord) -> None:
        p, d = self.d.p, self.d
        values = (
            record.key_hash, record.tenant_id, record.name, record.key_prefix, d.moment(record.created_at),
            record.key_id, encode_scopes(record.scopes), d.opt_moment(record.expires_at),
            d.opt_moment(record.revoked_at), d.opt_moment(record.last_used_at),
        )  # fmt: skip
        marks = ", ".join([p] * len(values))
        await self.db.run_batch([(f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ({marks})", values)])

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        rows = await self.db.fetch(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = {self.d.p}", (key_hash,))
        return self._record(rows[0]) if rows else None

    async def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        rows = await self.db.fetch(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = {self.d.p} ORDER BY created_at, key_id",
            (tenant_id,),
        )
        return [self._record(r) for r in rows]

    async def revoke_api_key(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyRecord | None:
        """Revoke the tenant's key `key_id` (a second revocation keeps the first time);
        None when the tenant has no such key."""
        p = self.d.p
        await self.db.run_batch(
            [
                (
                    f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, {p}) "
                    f"WHERE tenant_id = {p} AND key_id = {p}",
                    (self.d.moment(now), tenant_id, key_id),
                )
            ]
        )
        rows = await self.db.fetch(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = {p} AND key_id = {p}", (tenant_id, key_id)
        )
        return self._record(rows[0]) if rows else None

    async def touch_api_key(self, tenant_id: str, key_hash: str, now: datetime, *, every: timedelta) -> None:
        """Stamp the key's last use, at most once per `every`: the row is written only when
        its stamp is older, so instances touching the same key together write it once."""
        p, moment = self.d.p, self.d.moment
        await self.db.run_batch(
            [
                (
                    f"UPDATE api_keys SET last_used_at = {p} WHERE tenant_id = {p} AND key_hash = {p} "
                    f"AND (last_used_at IS NULL OR last_used_at <= {p})",
                    (moment(now), tenant_id, key_hash, moment(now - every)),
                )
            ]
        )
