"""Where settings come from, highest first: the process environment, a `.env` file,
`continuum_config.json`, then defaults."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from continuum.settings.fields import ENV_NAMES, FIELD_NAMES, Settings
from continuum.settings.parsing import SettingsError


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("export "):
            text = text[len("export ") :].lstrip()
        if "=" not in text:
            raise SettingsError(f"{path}:{number}: expected NAME=value")
        name, raw = text.split("=", 1)
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            raw = raw[1:-1]
        values[name.strip()] = raw
    return values


def _read_config_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: must hold a JSON object of settings")
    values: dict[str, str] = {}
    for key, value in data.items():
        env_name = FIELD_NAMES[key].metadata["env"] if key in FIELD_NAMES else key
        if env_name not in ENV_NAMES:
            raise SettingsError(f"{path}: unknown setting {key!r}")
        if isinstance(value, bool):
            values[env_name] = "true" if value else "false"
        elif isinstance(value, list):
            values[env_name] = json.dumps(value)
        elif value is None:
            values[env_name] = ""
        else:
            values[env_name] = str(value)
    return values


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    directory: str | Path | None = None,
    read_files: bool = True,
) -> Settings:
    """Build and validate Settings; raise SettingsError with one clear line."""
    environ = os.environ if environ is None else environ
    base = Path(directory) if directory is not None else Path.cwd()
    merged: dict[str, str] = {}
    if read_files:
        config_path = Path(environ.get("CONTINUUM_CONFIG_FILE") or base / "continuum_config.json")
        if config_path.is_file():
            merged.update(_read_config_json(config_path))
        elif environ.get("CONTINUUM_CONFIG_FILE"):
            raise SettingsError(f"CONTINUUM_CONFIG_FILE={config_path} does not exist")
        dotenv_path = base / ".env"
        if dotenv_path.is_file():
            merged.update(_read_dotenv(dotenv_path))
    for name, value in environ.items():
        if name in ENV_NAMES:
            merged[name] = value
        elif name.startswith("CONTINUUM_") and name not in _KNOWN_EXTRA:
            raise SettingsError(f"unknown setting {name} (check the spelling)")
    values: dict[str, Any] = {}
    for env_name, raw in merged.items():
        if env_name not in ENV_NAMES:
            if env_name.startswith("CONTINUUM_") and env_name not in _KNOWN_EXTRA:
                raise SettingsError(f"unknown setting {env_name} (check the spelling)")
            continue
        spec = ENV_NAMES[env_name]
        try:
            values[spec.name] = spec.metadata["parse"](raw)
        except (ValueError, json.JSONDecodeError) as exc:
            shown = "***" if spec.metadata["secret"] else repr(raw)
            raise SettingsError(f"invalid {env_name}={shown}: {exc}") from None
    settings = Settings(**values)
    settings.validate()
    return settings


# Variables read elsewhere (process wiring, not product settings).
_KNOWN_EXTRA = frozenset({
    "CONTINUUM_CONFIG_FILE", "CONTINUUM_URL", "CONTINUUM_TENANT",
    "CONTINUUM_SERVE_WORKERS",  # set by `continuum serve --workers N` for its worker processes
})  # fmt: skip
