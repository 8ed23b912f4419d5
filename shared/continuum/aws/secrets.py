"""Secrets from SSM Parameter Store or Secrets Manager (Powertools Parameters), cached per warm
instance for CONTINUUM_SECRETS_MAX_AGE seconds, with plain environment variables as fallback.

- `ssm`: every parameter directly under CONTINUUM_SECRETS_PATH (e.g. `/continuum/prod`) whose
  name is one of SECRET_NAMES (`/continuum/prod/POSTGRES_URL`, ...), SecureStrings decrypted,
  fetched in one GetParametersByPath call.
- `secretsmanager`: one secret (name or ARN in CONTINUUM_SECRETS_PATH) holding a JSON object
  keyed by the same names.
A name the store does not hold falls back to the environment. Values are never logged.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from continuum.settings import ENV_NAMES, Settings, SettingsError, load_settings

SECRET_NAMES = (
    "POSTGRES_URL",
    "CONTINUUM_API_KEY",
    "CONTINUUM_JWT_SECRET",
    "CONTINUUM_ENCRYPTION_KEY",
    "UPSTASH_REDIS_REST_TOKEN",
)


class SecretsUnavailable(Exception):
    """The secrets store could not be read (throttled, unreachable, denied)."""


def _setting(environ: Mapping[str, str], name: str) -> Any:
    field = ENV_NAMES[name]
    raw = environ.get(name)
    if raw is None:
        return field.default
    try:
        return field.metadata["parse"](raw)
    except ValueError as exc:
        raise SettingsError(f"invalid {name}={raw!r}: {exc}") from None


class SecretsLoader:
    """Turns the process environment plus the secrets store into Settings."""

    def __init__(self, environ: Mapping[str, str] | None = None, *, provider: Any = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.source: str = _setting(self.environ, "CONTINUUM_SECRETS_SOURCE")
        self.path: str | None = _setting(self.environ, "CONTINUUM_SECRETS_PATH")
        self.max_age: int = _setting(self.environ, "CONTINUUM_SECRETS_MAX_AGE")
        if self.source != "env" and not self.path:
            raise SettingsError(f"CONTINUUM_SECRETS_SOURCE={self.source} needs CONTINUUM_SECRETS_PATH")
        self._provider = provider

    def _store(self) -> Any:
        if self._provider is None:
            # Imported here: Powertools Parameters loads boto3 (~0.3 s), paid only when used.
            from aws_lambda_powertools.utilities import parameters

            if self.source == "ssm":
                self._provider = parameters.SSMProvider()
            else:
                self._provider = parameters.SecretsProvider()
        return self._provider

    def fetch(self) -> dict[str, str]:
        """The secrets the store holds (cached for max_age seconds)."""
        if self.source == "env":
            return {}
        try:
            if self.source == "ssm":
                values = self._store().get_multiple(
                    self.path.rstrip("/"), max_age=self.max_age, decrypt=True, recursive=False
                )
            else:
                values = self._store().get(self.path, max_age=self.max_age, transform="json")
        except Exception as exc:
            # The message names the store and path, never a value.
            raise SecretsUnavailable(
                f"cannot read secrets from {self.source} {self.path}: {type(exc).__name__}"
            ) from exc
        if not isinstance(values, dict):
            raise SettingsError(f"{self.source} secret {self.path} must hold a JSON object of secrets")
        return {name: str(values[name]) for name in SECRET_NAMES if values.get(name) not in (None, "")}

    def fingerprint(self) -> str:
        """Changes when a secret does (the store is asked again after max_age seconds)."""
        return _digest({**self.environ, **self.fetch()})

    def load(self) -> tuple[Settings, str]:
        """Settings with secrets applied, and their fingerprint."""
        merged = {**self.environ, **self.fetch()}
        return load_settings(merged, read_files=False), _digest(merged)


def _digest(values: Mapping[str, str]) -> str:
    text = "\0".join(f"{name}={values.get(name, '')}" for name in SECRET_NAMES)
    return hashlib.sha256(text.encode()).hexdigest()
