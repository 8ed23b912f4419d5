"""The embedding provider that the settings select (or none)."""

from __future__ import annotations

import importlib
from typing import Any

from continuum.ports import Embedder
from continuum.settings import Settings, SettingsError


def build_embedder(settings: Settings, **bindings: Any) -> Embedder | None:
    """None unless CONTINUUM_ENABLE_EMBEDDINGS=true.

    `bindings` carries runtime handles a provider may need (e.g. the Workers AI
    binding inside a Cloudflare Worker); providers take what they know.
    """
    if not settings.enable_embeddings:
        return None
    provider = settings.embedding_provider
    if provider == "local":
        from continuum.embeddings.local import LocalEmbedder

        return LocalEmbedder(settings.embedding_model)
    if provider == "openai":
        from continuum.embeddings.openai import OpenAIEmbedder

        return OpenAIEmbedder(
            settings.embedding_url or "", api_key=settings.embedding_api_key, model=settings.embedding_model
        )
    if provider in ("bedrock", "workers-ai"):
        # Implemented beside this module (bedrock.py, workers_ai.py), each with
        # `from_settings(settings, **bindings) -> Embedder`.
        module = importlib.import_module(f"continuum.embeddings.{provider.replace('-', '_')}")
        return module.from_settings(settings, **bindings)
    raise SettingsError(f"CONTINUUM_EMBEDDING_PROVIDER={provider} is not a known embedding provider")
