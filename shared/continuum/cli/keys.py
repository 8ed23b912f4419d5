"""`continuum keys`: create, list and revoke tenant API keys, on the database or (with
`--url`) through a running server with the admin key."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from continuum.cli.common import (
    add_options,
    cli_settings,
    emit,
    fail_cleanly,
    json_option,
    jsonable,
    remote,
    remote_options,
    run_async,
    with_services,
)

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """`30d`, `12h`, `90m`, `45s`, `2w` from now, or an ISO 8601 time with its zone."""
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("a duration (30d, 12h, 90m) or an ISO 8601 time", param_hint="--expires") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the time zone (e.g. 2031-01-01T00:00:00Z)", param_hint="--expires")
    return moment


def _tenant(tenant: str) -> str:
    from continuum.ids import is_valid_tenant_id

    if not is_valid_tenant_id(tenant):
        raise click.BadParameter("letters, digits, '.', '_' or '-', at most 64", param_hint="--tenant")
    return tenant


def _local(action: Any) -> Any:
    return run_async(with_services(cli_settings(), action))


def _describe(key: dict[str, Any]) -> str:
    used = key["last_used_at"] or "never"
    expires = key["expires_at"] or "never"
    return (
        f"{key['id']}  {key['status']:<7}  {','.join(key['scopes']):<10}  {key['prefix']}…  "
        f"{key['name'] or '-'}  created {key['created_at']}  expires {expires}  last used {used}"
    )


@click.group()
def keys() -> None:
    """Manage tenant API keys (scopes, expiry, rotation, revocation)."""


@keys.command("create")
@click.option("--tenant", required=True, help="Tenant the key belongs to.")
@click.option("--name", help="A label for the key.")
@click.option(
    "--scope",
    type=click.Choice(["read", "write"]),
    default="write",
    show_default=True,
    help="read: recall, search, list, get, export; write: also store, learn, update, delete, import.",
)
@click.option("--expires", help="When the key stops working: 30d, 12h, 90m, or an ISO 8601 time. Default: never.")
@add_options(remote_options)
@json_option
@fail_cleanly
def keys_create(tenant: str, name: str | None, scope: str, expires: str | None, url: str | None,
                api_key: str | None, as_json: bool) -> None:  # fmt: skip
    """Create a tenant key (printed once; only its hash is stored)."""
    tenant = _tenant(tenant)
    expires_at = parse_expiry(expires, datetime.now(UTC))
    if url:
        with remote(url, api_key) as client:
            created = jsonable(client.create_key(tenant_id=tenant, name=name, scopes=[scope], expires_at=expires_at))
    else:

        async def action(services: Any) -> Any:
            return await services.admin.create_key(tenant, name, scopes=[scope], expires_at=expires_at)

        new_key = _local(action)
        created = {**asdict(new_key), "api_key": new_key.api_key}
    if as_json:
        emit(created, True, str)
    else:
        click.echo(created["api_key"])
    click.echo(f"key {created['id']} for tenant {created['tenant_id']}: store it now, it is not shown again", err=True)


@keys.command("list")
@click.option("--tenant", required=True, help="Tenant whose keys to list.")
@add_options(remote_options)
@json_option
@fail_cleanly
def keys_list(tenant: str, url: str | None, api_key: str | None, as_json: bool) -> None:
    """List a tenant's keys: ids, scopes, status, times; never a key."""
    tenant = _tenant(tenant)
    if url:
        with remote(url, api_key) as client:
            listed = [jsonable(key) for key in client.list_keys(tenant_id=tenant).keys]
    else:

        async def action(services: Any) -> Any:
            return await services.admin.list_keys(tenant)

        listed = [asdict(k) for k in _local(action).keys]
    emit(listed, as_json, lambda rows: "\n".join(_describe(k) for k in rows) or f"(tenant {tenant} has no keys)")


@keys.command("revoke")
@click.argument("key_id")
@click.option("--tenant", required=True, help="Tenant the key belongs to.")
@add_options(remote_options)
@fail_cleanly
def keys_revoke(key_id: str, tenant: str, url: str | None, api_key: str | None) -> None:
    """Revoke a key at once (see its id with `continuum keys list`)."""
    tenant = _tenant(tenant)
    if url:
        with remote(url, api_key) as client:
            client.revoke_key(key_id, tenant_id=tenant)
    else:

        async def action(services: Any) -> Any:
            return await services.admin.revoke_key(tenant, key_id)

        _local(action)
    click.echo(f"revoked key {key_id} of tenant {tenant}")
