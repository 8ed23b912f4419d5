"""Where the deployment tools live and how to call them; installed by .ci/setup.d/70-deploy.sh.

A missing tool fails the test with the command that installs it: nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CONTINUUM_DEPLOY_CACHE", str(Path.home() / ".cache" / "continuum-deploy")))
TOOLS_BIN = CACHE / "tools" / "bin"
COMPOSE_BIN = CACHE / "compose" / "bin" / "docker-compose"
HELM = Path(os.environ.get("HELM_BIN", str(CACHE / "bin" / "helm")))
BASE_IMAGE = os.environ.get("DEPLOY_BASE_IMAGE", "localhost/continuum-base:bookworm-py")
IMAGE = "localhost/continuum:ci"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
SETUP = "bash -c 'source .ci/setup.d/70-deploy.sh'"


def tool(name: str) -> str:
    """The path of a validator from the deploy tools venv, or of a system command."""
    for candidate in (TOOLS_BIN / name, CACHE / "bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if not found:
        pytest.fail(f"{name} is not installed: run {SETUP}")
    return found


def podman_env() -> dict[str, str]:
    conf = Path(os.environ.get("CONTAINERS_CONF", str(CACHE / "containers.conf")))
    if not conf.exists():
        pytest.fail(f"{conf} is missing (podman needs runc and lower rlimits here): run {SETUP}")
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def run(args: Sequence[str], *, timeout: float = 600, check: bool = True, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd or REPO)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], timeout=timeout, check=check, env=podman_env())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0, *, verify: bool | ssl.SSLContext = True) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2.0, verify=verify)
            if response.status_code == 200:
                return response
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200 within {timeout:.0f} s (last: {last!r})")


def build_image(tag: str = IMAGE) -> None:
    """The guide's `docker build`, on the local Debian base, pip trusting the host's CA
    (the registry is reached through a TLS-intercepting proxy here)."""
    if podman("image", "exists", BASE_IMAGE, check=False, timeout=30).returncode != 0:
        pytest.fail(f"base image {BASE_IMAGE} is missing: run {SETUP}")
    podman(
        "build", "--format", "docker", "--pull=never", "-f", "infra/docker/Dockerfile", "-t", tag,
        "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "PIP_CERT=/run/host-ca.crt",
        "-v", f"{HOST_CA}:/run/host-ca.crt:ro", ".",
    )  # fmt: skip


@contextmanager
def container(name: str, *args: str) -> Iterator[str]:
    podman("rm", "-f", "-v", name, check=False, timeout=60)
    podman("run", "-d", "--name", name, *args, timeout=120)
    try:
        yield name
    finally:
        logs = podman("logs", name, check=False, timeout=30)
        (CACHE / f"{name}.log").write_text(logs.stdout + logs.stderr)
        podman("rm", "-f", "-v", name, check=False, timeout=60)
