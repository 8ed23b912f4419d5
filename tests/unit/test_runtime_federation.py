"""continuum.runtime.federation: the node key (setting or key file made on first use) and
what a runtime without `cryptography` answers."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path

import pytest

from continuum.clock import SystemClock
from continuum.core.federation.identity import b64url, new_seed
from continuum.core.federation.service import FederationService
from continuum.runtime import federation
from continuum.settings import SettingsError, load_settings
from continuum.storage.sqlite import SqliteStorage


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "m.db"), **env}, read_files=False)


def test_the_key_file_is_made_once_beside_the_database(tmp_path: Path) -> None:
    config = settings(tmp_path).federation
    first = federation.load_seed(config)
    path = tmp_path / "federation.key"
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert federation.load_seed(config) == first


def test_a_configured_key_wins_and_a_bad_one_is_named(tmp_path: Path) -> None:
    seed = new_seed()
    assert federation.load_seed(settings(tmp_path, CONTINUUM_FEDERATION_KEY=seed.hex()).federation) == seed
    assert not (tmp_path / "federation.key").exists()
    with pytest.raises(SettingsError, match="CONTINUUM_FEDERATION_KEY"):
        federation.load_seed(settings(tmp_path, CONTINUUM_FEDERATION_KEY="short").federation)
    bad = tmp_path / "bad.key"
    bad.write_text("nonsense")
    with pytest.raises(SettingsError, match="CONTINUUM_FEDERATION_KEY_FILE"):
        federation.load_seed(settings(tmp_path, CONTINUUM_FEDERATION_KEY_FILE=str(bad)).federation)
    good = tmp_path / "good.key"
    good.write_text(b64url(seed))
    assert federation.load_seed(settings(tmp_path, CONTINUUM_FEDERATION_KEY_FILE=str(good)).federation) == seed


def test_off_on_and_without_cryptography(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SqliteStorage(str(tmp_path / "m.db"))
    assert federation.build_federation(settings(tmp_path).federation, storage, SystemClock()) is None
    on = settings(tmp_path, CONTINUUM_ENABLE_FEDERATION="true").federation
    assert isinstance(federation.build_federation(on, storage, SystemClock()), FederationService)
    real = importlib.util.find_spec
    # a Cloudflare Worker has no Pyodide wheel of cryptography
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cryptography" else real(name, *a)
    )
    refused = federation.build_federation(on, storage, SystemClock())
    assert isinstance(refused, federation.FederationUnavailable) and refused.status == 501
    assert "cryptography" in refused.message
