import base64
import os
import sqlite3

import pytest

from continuum.core.crypto import ContentCipher, parse_encryption_key
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.memories import NewMemory
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import load_settings

KEY = base64.b64encode(os.urandom(32)).decode()


def test_key_formats():
    assert len(parse_encryption_key(KEY)) == 32
    assert len(parse_encryption_key("ab" * 32)) == 32
    with pytest.raises(ValueError):
        parse_encryption_key("too-short")


def test_round_trip_and_nonce():
    cipher = ContentCipher(parse_encryption_key(KEY))
    sealed = cipher.encrypt("the vault code is 4711")
    assert sealed != cipher.encrypt("the vault code is 4711")
    assert "4711" not in sealed and cipher.decrypt(sealed) == "the vault code is 4711"
    assert ContentCipher(None).encrypt("x") == "x"


async def test_content_is_encrypted_at_rest_and_still_searchable(tmp_path):
    path = tmp_path / "enc.db"
    settings = load_settings({"CONTINUUM_DB_PATH": str(path), "CONTINUUM_ENCRYPTION_KEY": KEY}, read_files=False)
    services = build_services(settings)
    await services.storage.migrate()
    await services.engine.store_memory("t", NewMemory(content="Zanzibar vault code is 4711"))
    await services.engine.learn("t", LearnInput(user_message="Quetzal lives in Oslo", ai_response="Oslo, noted"))
    found = await services.engine.search("t", SearchQuery(query="Zanzibar vault"))
    assert found.results[0].content == "Zanzibar vault code is 4711"
    await services.close()
    raw = b"".join(
        str(row).encode()
        for table in ("memories", "auto_messages", "term_stats", "entities")
        for row in sqlite3.connect(path).execute(f"SELECT * FROM {table}")
    )
    for secret in (b"Zanzibar", b"zanzibar", b"4711", b"vault", b"Oslo lives"):
        assert secret not in raw, secret


async def test_wrong_key_cannot_read(tmp_path):
    path = str(tmp_path / "enc.db")
    settings = load_settings({"CONTINUUM_DB_PATH": path, "CONTINUUM_ENCRYPTION_KEY": KEY}, read_files=False)
    services = build_services(settings)
    await services.storage.migrate()
    stored = await services.engine.store_memory("t", NewMemory(content="secret"))
    await services.close()
    other = base64.b64encode(os.urandom(32)).decode()
    services = build_services(settings.with_overrides(encryption_key=other))
    with pytest.raises(Exception):  # noqa: B017 - any failure is right, plaintext is not
        await services.engine.get_memory("t", stored.id)
    await services.close()
