"""Deployment fixtures: the image is built once per session (podman caches its layers)."""

from __future__ import annotations

import pytest

from tests.deploy.tools import IMAGE, build_image


@pytest.fixture(scope="session")
def image() -> str:
    build_image(IMAGE)
    return IMAGE
