"""api/routers/console.py: the console's static files, their headers, and the 501 where a
build leaves them out (the Worker bundle, the Lambda zip)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from continuum.api.app import create_app
from continuum.api.routers import console
from continuum.runtime import local_server
from continuum.runtime.assembly import assemble
from continuum.settings import load_settings


@pytest.fixture
def client(tmp_path):
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "c.db")}, read_files=False)
    with TestClient(create_app(assemble(local_server(), settings))) as test_client:
        yield test_client


def test_the_package_ships_the_built_console():
    assert "index.html" in console.ASSETS
    kinds = {name.rsplit(".", 1)[1] for name in console.ASSETS if name.startswith("assets/")}
    assert {"js", "css"} <= kinds


def test_the_page_and_its_assets_are_served_with_types_caching_and_csp(client):
    for path in ("/console", "/console/", "/console/index.html"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    for name in console.ASSETS:
        if name.startswith("assets/"):
            asset = client.get(f"/console/{name}")
            assert asset.status_code == 200
            assert asset.headers["content-type"] == console.TYPES["." + name.rsplit(".", 1)[1]]
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.head("/console").status_code == 200


def test_nothing_but_the_built_files_is_served(client):
    for path in ("/console/missing.js", "/console/../pyproject.toml", "/console/%2e%2e/api/app.py",
                 "/console/assets/../../routers/console.py", "/console/assets"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json")


def test_without_its_files_the_console_says_where_it_is_served(client, monkeypatch):
    monkeypatch.setattr(console, "ASSETS", {})
    response = client.get("/console")
    assert response.status_code == 501
    error = response.json()["error"]
    assert error["code"] == "not_available" and "continuum serve" in error["message"]


def test_the_console_needs_no_key_and_is_not_in_the_api_document(client):
    assert "/console" not in client.get("/openapi.json").json()["paths"]


def test_a_file_gone_since_start_is_a_404_not_a_500(client, monkeypatch, tmp_path):
    gone = tmp_path / "old.js"
    monkeypatch.setitem(console.ASSETS, "assets/old.js", gone)
    response = client.get("/console/assets/old.js")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
