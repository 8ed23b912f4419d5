"""What every command shares: settings, running async work, clean failures, services,
output, the remote client (the SDK, `continuum.client`) and the common options."""

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
        from continuum.client.errors import ConnectionError as Unreachable
        from continuum.client.errors import ContinuumError as RemoteError
        from continuum.errors import ContinuumError

        try:
            return func(*args, **kwargs)
        except ContinuumError as exc:
            raise click.ClickException(exc.message) from None
        except Unreachable as exc:
            raise click.ClickException(f"cannot reach the server: {exc.message}") from None
        except RemoteError as exc:  # the server's answer: status, code and message
            raise click.ClickException(f"{exc.status} {exc.code}: {exc.message}") from None
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


def remote(url: str, api_key: str | None, tenant: str | None = None) -> Any:
    """The SDK's client for a running server (`--url`); errors leave through `fail_cleanly`."""
    from continuum.client import Continuum

    try:
        return Continuum(url, api_key or "", tenant=tenant)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None


def jsonable(model: Any) -> Any:
    """A response model as the JSON the server sent."""
    return model.model_dump(mode="json")


remote_options = [
    click.option("--url", envvar="CONTINUUM_URL", help="Talk to a running server instead of the database."),
    click.option("--api-key", envvar="CONTINUUM_API_KEY", help="Key for --url (sent as Authorization: Bearer)."),
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
