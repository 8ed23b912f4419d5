"""DNS-rebinding protection: which Host and Origin headers /mcp answers."""

from __future__ import annotations

import pytest

from continuum.mcp.hosts import host_allowed, origin_allowed


@pytest.mark.parametrize("host", ["localhost", "localhost:8420", "127.0.0.1:1", "[::1]:8420", "LOCALHOST:9"])
def test_localhost_is_always_allowed(host: str) -> None:
    assert host_allowed(host, ())


@pytest.mark.parametrize(
    "host,allowed,expected",
    [
        ("memory.example.com", ("memory.example.com",), True),
        ("memory.example.com:8443", ("memory.example.com",), True),  # a bare name: any port
        ("memory.example.com:8443", ("memory.example.com:443",), False),
        ("memory.example.com:443", ("memory.example.com:443",), True),
        ("memory.example.com:9", ("memory.example.com:*",), True),
        ("attacker.example", ("memory.example.com",), False),
        ("memory.example.com.attacker.example", ("memory.example.com",), False),
        ("localhost.attacker.example", (), False),
        ("anything.example", ("*",), True),
        ("", ("memory.example.com",), False),
        (None, (), False),
    ],
)
def test_real_host_names_come_from_the_setting(host: str | None, allowed: tuple[str, ...], expected: bool) -> None:
    assert host_allowed(host, allowed) is expected


def test_origin_absent_allowed_host_or_cors_origin() -> None:
    assert origin_allowed(None, ())
    assert origin_allowed("http://localhost:3000", ())
    assert origin_allowed("https://memory.example.com", ("memory.example.com",))
    assert origin_allowed("https://app.example.com", (), ("https://app.example.com",))
    assert not origin_allowed("https://attacker.example", ("memory.example.com",))
    assert not origin_allowed("null", ())
