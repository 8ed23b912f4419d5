"""/console on every e2e target: the local server's processes serve the page; the Worker,
whose bundle leaves the console's files out (3 MiB gzip limit), says where it is served."""

from __future__ import annotations


def test_the_console_is_served_or_its_absence_explained(server):
    with server.client() as anonymous:
        response = anonymous.get("/console")
    if server.target.startswith("workers"):
        assert response.status_code == 501
        error = response.json()["error"]
        assert error["code"] == "not_available" and "continuum serve" in error["message"]
    else:
        assert response.status_code == 200 and "<title>CONTINUUM console</title>" in response.text
        assert "script-src 'self'" in response.headers["content-security-policy"]
