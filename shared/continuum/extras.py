"""Optional pieces of the package: which extra brings each, and one clear line when it is missing.

The plain install runs the local server and CLI on SQLite; PostgreSQL, Redis, Upstash,
encryption, Sentry, Lambda and local embeddings come with extras. Choosing one in settings
without its extra installed stops start-up with the `pip install` line that fixes it.
"""

from __future__ import annotations

import importlib.util

from continuum.settings import SettingsError

# feature -> (modules it imports, extra that installs them)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "postgres": (("psycopg", "psycopg_pool"), "postgres"),
    "redis": (("redis",), "redis"),
    "upstash": (("upstash_redis",), "upstash"),
    "encryption": (("cryptography",), "encryption"),
    "sentry": (("sentry_sdk",), "sentry"),
    "lambda": (("mangum", "aws_lambda_powertools"), "lambda"),
    "local-embeddings": (("sentence_transformers",), "embeddings"),
}


def missing_modules(feature: str) -> list[str]:
    modules, _ = EXTRAS[feature]
    return [name for name in modules if importlib.util.find_spec(name) is None]


def require(feature: str, setting: str) -> None:
    """Raise SettingsError naming `setting` and the extra to install when `feature` is missing."""
    missing = missing_modules(feature)
    if missing:
        extra = EXTRAS[feature][1]
        raise SettingsError(
            f"{setting} needs {', '.join(missing)}, which the plain install leaves out: "
            f"pip install 'continuum-memory[{extra}]'"
        )
