"""What every command shares: settings, running async work, clean failures, services,
output, the remote client and the common options."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, TypeVar

import click

from continuum.settings import Settings, SettingsError, load_settings

T = TypeVar("T")


def cli_settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings()
        return settings.with_overrides(**overrides) if overrides else settings
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn product errors into one red line and a non-zero exit, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from continuum.errors import ContinuumError

        try:
            return func(*args, **kwargs)
        except ContinuumError as exc:
            raise click.ClickException(exc.message) from None
        except (FileNotFoundError, PermissionError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


async def with_services(settings: Settings, action: Callable[[Any], Awaitable[T]], *, migrate: bool = True) -> T:
    from continuum.runtime import build_services

    services = build_services(settings)
    try:
        await services.storage.connect()
        if migrate:
            await services.storage.migrate()
        return await action(services)
    finally:
        await services.close()


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(text(data))


class Remote:
    def __init__(self, url: str, api_key: str | None, tenant: str | None) -> None:
        import httpx

        headers = {"X-API-Key": api_key} if api_key else {}
        if tenant:
            headers["X-Continuum-Tenant"] = tenant
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach {self.client.base_url}: {exc}") from None
        data = response.json()
        if response.status_code >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise click.ClickException(f"{response.status_code} {error.get('code')}: {error.get('message')}")
        return data


remote_options = [
    click.option("--url", envvar="CONTINUUM_URL", help="Talk to a running server instead of the database."),
    click.option("--api-key", envvar="CONTINUUM_API_KEY", help="Key for --url (X-API-Key)."),
]
tenant_option = click.option(
    "--tenant", envvar="CONTINUUM_TENANT", default="default", show_default=True, help="Tenant to act on."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def add_options(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate
