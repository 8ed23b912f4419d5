"""The Worker's `env` (vars, secrets, bindings) as CONTINUUM settings and bindings."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from continuum.settings import ENV_NAMES, Settings, SettingsError, load_settings

# What a Worker cannot have: a local file, a TCP connection to PostgreSQL or Redis.
_UNSUPPORTED = {
    "POSTGRES_URL": "PostgreSQL needs TCP sockets; a Worker stores in D1",
    "REDIS_URL": "Redis needs TCP sockets; use UPSTASH_REDIS_REST_URL on Workers",
}


def raw_env(env: Any) -> Any:
    """The JavaScript env object, unwrapped from the workers SDK's `_EnvWrapper`."""
    return getattr(env, "_env", env)


def env_names(env: Any) -> list[str]:
    """Names on the env object: a mapping's keys, or a JavaScript object's own keys."""
    env = raw_env(env)
    if isinstance(env, Mapping):
        return list(env)
    try:
        from js import Object  # type: ignore[import-not-found]
    except ImportError:
        return [name for name in vars(env) if not name.startswith("_")]
    return list(Object.keys(env))


def text_vars(env: Any) -> dict[str, str]:
    """Every var and secret that holds text (bindings and JSON vars are left out)."""
    source = raw_env(env)
    values: dict[str, str] = {}
    for name in env_names(source):
        value = source[name] if isinstance(source, Mapping) else getattr(source, name, None)
        if isinstance(value, str):
            values[name] = value
    return values


def settings_from_env(env: Any) -> Settings:
    """Settings from the Worker's vars and secrets; storage defaults to D1.

    Only setting names are read (other vars are the deployment's own business), an
    unknown CONTINUUM_* name is an error, and no file is read: a Worker has none.
    """
    values = text_vars(env)
    environ = {k: v for k, v in values.items() if k in ENV_NAMES or k.startswith("CONTINUUM_")}
    environ.setdefault("CONTINUUM_STORAGE", "d1")
    settings = load_settings(environ=environ, read_files=False)
    for name, reason in _UNSUPPORTED.items():
        if environ.get(name):
            raise SettingsError(f"{name} is set but cannot be used in a Worker: {reason}")
    if settings.encryption_key and importlib.util.find_spec("cryptography") is None:
        raise SettingsError(
            "CONTINUUM_ENCRYPTION_KEY needs the cryptography package, which PyPI has no Pyodide wheel of: "
            "vendor a Pyodide build of it into python_modules to encrypt at rest on Workers"
        )
    return settings


def binding(env: Any, name: str) -> Any:
    """A binding (D1, AI, ...) by name, or None when the Worker has none by that name."""
    source = raw_env(env)
    if isinstance(source, Mapping):
        return source.get(name)
    value = getattr(source, name, None)
    return None if value is None or type(value).__name__ == "JsNull" else value
