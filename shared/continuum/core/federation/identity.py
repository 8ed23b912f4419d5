"""A node's Ed25519 identity: signing and verifying with the `cryptography` package (the
`encryption` extra), imported on first use so that a node without federation never loads it."""

from __future__ import annotations

import base64
import binascii
import os

from continuum.keys import parse_encryption_key

SEED_BYTES = 32


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_seed() -> bytes:
    return os.urandom(SEED_BYTES)


def parse_seed(text: str) -> bytes:
    """A 32-byte seed written as 64 hex digits or base64 (standard or url-safe), as the
    encryption key is."""
    return parse_encryption_key(text)


class NodeIdentity:
    """This node's key pair; the public key travels as base64url (43 characters)."""

    def __init__(self, seed: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = b64url(self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, message: bytes) -> str:
        return b64url(self._key.sign(message))


def verify(public_key: str, message: bytes, signature: str) -> bool:
    """Whether `signature` is `public_key`'s over `message` (False for anything malformed)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(unb64url(public_key))
        key.verify(unb64url(signature), message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
