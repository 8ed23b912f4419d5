"""Embedding providers behind the Embedder port (continuum.ports.Embedder)."""
