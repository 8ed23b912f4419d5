"""continuum.core.federation.identity: Ed25519 keys, signatures, seeds."""

from __future__ import annotations

import base64

import pytest

from continuum.core.federation.identity import NodeIdentity, b64url, new_seed, parse_seed, verify


def test_a_signature_verifies_with_its_key_only() -> None:
    me, other = NodeIdentity(new_seed()), NodeIdentity(new_seed())
    signature = me.sign(b"message")
    assert len(me.public_key) == 43 and len(signature) == 86
    assert verify(me.public_key, b"message", signature)
    assert not verify(me.public_key, b"messagE", signature)
    assert not verify(other.public_key, b"message", signature)
    assert not verify("not-a-key", b"message", signature)
    assert not verify(me.public_key, b"message", "!!")


def test_the_same_seed_is_the_same_node() -> None:
    seed = new_seed()
    assert NodeIdentity(seed).public_key == NodeIdentity(seed).public_key


def test_seeds_are_read_as_hex_or_base64() -> None:
    seed = new_seed()
    assert parse_seed(seed.hex()) == seed
    assert parse_seed(b64url(seed)) == seed
    assert parse_seed(base64.b64encode(seed).decode()) == seed
    for bad in ("", "abc", "00" * 31, b64url(seed + b"x")):
        with pytest.raises(ValueError, match="32 bytes"):
            parse_seed(bad)
