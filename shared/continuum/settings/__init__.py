"""One settings object for every runtime, grouped by concern.

Sources, highest first: process environment, a `.env` file, `continuum_config.json`,
then defaults. A bad or contradictory value raises `SettingsError` whose message is
one line naming the variable, so start-up can print it and stop.
"""

from continuum.settings.fields import ENV_NAMES, FIELD_NAMES, Settings
from continuum.settings.groups import (
    AuthSettings,
    CacheSettings,
    DatabaseSettings,
    EmbeddingSettings,
    EncryptionSettings,
    HttpSettings,
    IntegrationSettings,
    LambdaSettings,
    ObservabilitySettings,
    PostgresSettings,
    RankingSettings,
)
from continuum.settings.parsing import LOG_LEVELS, SettingsError
from continuum.settings.sources import load_settings

__all__ = [
    "ENV_NAMES", "FIELD_NAMES", "LOG_LEVELS", "AuthSettings", "CacheSettings", "DatabaseSettings",
    "EmbeddingSettings", "EncryptionSettings", "HttpSettings", "IntegrationSettings", "LambdaSettings",
    "ObservabilitySettings", "PostgresSettings", "RankingSettings", "Settings", "SettingsError", "load_settings",
]  # fmt: skip
