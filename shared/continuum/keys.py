"""Key formats read from settings: plain parsing, no cryptography (settings and the core share it)."""

from __future__ import annotations

import base64
import binascii


def parse_encryption_key(raw: str) -> bytes:
    """Accept 32 bytes as 64 hex characters or as (url-safe) base64."""
    text = raw.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError("must be 32 bytes, as 64 hex characters or base64 (e.g. `openssl rand -base64 32`)")
    return key
