"""A Compose project run by docker-compose v1 against podman's Docker-compatible API.

podman has no systemd here to run health checks on a timer, so a thread runs every
container's HEALTHCHECK once a second, as Docker's engine would; docker-compose then waits
for `condition: service_healthy` exactly as it does with Docker.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.deploy.tools import COMPOSE_BIN, REPO, SETUP, podman, podman_env, run

STAND_INS = ("postgres", "redis", "nginx")


def build_stand_ins(base_image: str) -> dict[str, str]:
    """The official postgres, redis and nginx images cannot be pulled here: build the same
    programs from Debian on the local base (tests/deploy/images/*)."""
    tags = {}
    for name in STAND_INS:
        tag = f"localhost/continuum-ci-{name}:latest"
        podman("build", "--format", "docker", "--pull=never", "--build-arg", f"BASE_IMAGE={base_image}",
               "-t", tag, str(REPO / "tests" / "deploy" / "images" / name))  # fmt: skip
        tags[name] = tag
    return tags


def self_signed(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt")])  # fmt: skip
    (directory / "tls.key").chmod(0o644)  # read by nginx's workers inside the container
    return directory / "tls.crt"


class ComposeStack:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        if not COMPOSE_BIN.exists():
            pytest.fail(f"docker-compose v1 is not installed: run {SETUP}")
        self.project = f"ctm{secrets.token_hex(3)}"
        self.workdir = workdir
        self.env_file = workdir / ".env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.socket = workdir / "podman.sock"
        self._service: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._checker = threading.Thread(target=self._run_health_checks, daemon=True)

    def __enter__(self) -> ComposeStack:
        self._service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{self.socket}"], env=podman_env(),
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "podman-service.log").open("wb"),
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline:
                pytest.fail("podman system service did not open its socket")
            time.sleep(0.1)
        self._checker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for cid in self.container_ids():  # kept beside the test's files for a failed run
            name = podman("inspect", "--format", "{{.Name}}", cid, check=False).stdout.strip() or cid
            logs = podman("logs", cid, check=False)
            (self.workdir / f"{name}.log").write_text(logs.stdout + logs.stderr)
        try:
            self.compose("down", "-v", "--remove-orphans", "--timeout", "10", check=False)
        finally:
            self._stop.set()
            self._checker.join(timeout=10)
            if self._service:
                self._service.terminate()
                self._service.wait(timeout=30)
            for cid in self.container_ids():
                podman("rm", "-f", "-v", cid, check=False)

    def compose(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {**podman_env(), "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "0",
               "COMPOSE_DOCKER_CLI_BUILD": "0"}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith(("POSTGRES_", "REDIS_", "CONTINUUM_"))}
        command = [str(COMPOSE_BIN), "-p", self.project, "--env-file", str(self.env_file), "-f",
                   str(REPO / "docker-compose.yml"), *args]  # fmt: skip
        return run(command, check=check, timeout=timeout, env=env, cwd=REPO)

    def container_ids(self, service: str | None = None) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        filters = ["--filter", label] + (["--filter", f"label=com.docker.compose.service={service}"] if service else [])
        out = podman("ps", "-a", "-q", *filters, check=False).stdout
        return out.split()

    def inspect(self, cid: str) -> dict:
        return json.loads(podman("inspect", cid).stdout)[0]

    def ip_of(self, cid: str) -> str:
        networks = self.inspect(cid)["NetworkSettings"]["Networks"]
        return next(iter(networks.values()))["IPAddress"]

    def _run_health_checks(self) -> None:
        while not self._stop.wait(1.0):
            for cid in self.container_ids():
                subprocess.run(["podman", "healthcheck", "run", cid], env=podman_env(), capture_output=True,
                               timeout=30, check=False)  # fmt: skip

    def wait_healthy(self, service: str, count: int, timeout: float = 120.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = self.container_ids(service)
            states = [self.inspect(cid)["State"].get("Health", {}).get("Status") for cid in ids]
            if len(ids) == count and all(s == "healthy" for s in states):
                return ids
            time.sleep(1)
        pytest.fail(f"{service}: {count} healthy containers expected within {timeout:.0f} s")


def started_at(service_ids: list[str]) -> float:
    """When the earliest container of a service started (Unix time, sub-second)."""
    stamps = [podman("inspect", "--format", "{{.State.StartedAt.UnixNano}}", cid).stdout.strip() for cid in service_ids]
    return min(int(s) for s in stamps) / 1e9
