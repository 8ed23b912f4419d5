"""Errors of embedding providers."""

from __future__ import annotations


class EmbeddingUnavailable(Exception):
    """The provider cannot embed now (missing package, endpoint down, bad answer).

    Writes still succeed and reads fall back to lexical ranking; the memories are
    embedded later (back-fill on the tenant's next access).
    """
