"""Encryption at rest for memory content, and keyed hashing for searchable terms.

With CONTINUUM_ENCRYPTION_KEY set, content is stored as AES-256-GCM ciphertext;
de-duplication hashes and index terms become HMACs under a key derived from the
same secret, so lexical search still works without plaintext in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from continuum.keys import parse_encryption_key

__all__ = ["ContentCipher", "parse_encryption_key"]

_PREFIX = "enc:v1:"


class ContentCipher:
    """Encrypts and decrypts stored text; the identity when no key is configured."""

    def __init__(self, key: bytes | None) -> None:
        self._aead = None
        self._hash_key = b""
        if key is not None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(hashlib.sha256(b"continuum/content/" + key).digest())
            self._hash_key = hashlib.sha256(b"continuum/hash/" + key).digest()

    @property
    def enabled(self) -> bool:
        return self._aead is not None

    def encrypt(self, text: str) -> str:
        if self._aead is None:
            return text
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), None)
        return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            return stored
        if self._aead is None:
            raise ValueError("stored content is encrypted but CONTINUUM_ENCRYPTION_KEY is not set")
        blob = base64.b64decode(stored[len(_PREFIX) :])
        return self._aead.decrypt(blob[:12], blob[12:], None).decode("utf-8")

    def content_hash(self, text: str) -> str:
        data = text.encode("utf-8")
        if self._aead is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self._hash_key, data, hashlib.sha256).hexdigest()

    def index_terms(self, terms: list[str]) -> list[str]:
        """Terms as stored in the index: plain, or keyed hashes when encrypting."""
        if self._aead is None:
            return terms
        return [self._term_token(term) for term in terms]

    def _term_token(self, term: str) -> str:
        digest = hmac.new(self._hash_key, term.encode("utf-8"), hashlib.sha256).digest()
        return "h" + base64.b32encode(digest[:10]).decode("ascii").lower()
