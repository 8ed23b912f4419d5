"""The container image: built with podman from infra/docker/Dockerfile on a local Debian base,
run, its HEALTHCHECK passes, the smoke runs against it, data survives a restart on the kept
volume, `stop` is quick and loses no acknowledged write, and nothing of the build leaks in."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from tests.deploy.smoke import check_present, client, store_learn_recall_search
from tests.deploy.tools import CACHE, REPO, container, free_port, podman, run, tool, wait_for

DOCKERFILE = REPO / "infra" / "docker" / "Dockerfile"
pytestmark = pytest.mark.slow


def test_hadolint_passes_the_dockerfile() -> None:
    run([tool("hadolint"), str(DOCKERFILE)])


def test_the_image_runs_as_non_root_with_the_healthcheck_and_no_build_secrets(image: str) -> None:
    config = json.loads(podman("image", "inspect", image).stdout)[0]
    assert config["Config"]["User"] == "10001:10001"
    health = config["Healthcheck"]["Test"]  # podman reports it beside Config
    assert health == ["CMD", "continuum-healthcheck"]  # exec form, not CMD-SHELL
    assert config["Config"]["Entrypoint"] == ["continuum"]
    assert config["Config"]["Cmd"] == ["serve", "--host", "0.0.0.0"]
    assert "/data" in config["Config"]["Volumes"]
    assert not any(v.startswith("PIP_CERT") for v in config["Config"]["Env"])
    script = ("id -u; test -e /run/host-ca.crt && echo leaked-ca; command -v pip || echo no-pip; "
              "test -d /src && echo leaked-src; true")  # fmt: skip
    inside = podman("run", "--rm", "--network=none", "--entrypoint", "sh", image, "-c", script)
    lines = inside.stdout.split()
    assert lines[0] == "10001"
    assert "leaked-ca" not in lines and "leaked-src" not in lines
    assert "no-pip" in lines  # pip is removed from the runtime venv


def test_image_size_is_reported(image: str) -> None:
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())
    base = int(podman("image", "inspect", "--format", "{{.Size}}", "localhost/continuum-base:bookworm-py").stdout)
    print(f"\nimage {image}: {size / 1e6:.0f} MB ({(size - base) / 1e6:.0f} MB above the base image)")
    (CACHE / "image-size.txt").write_text(f"{size}\n")
    assert size - base < 150e6, "the application layers grew past 150 MB"


def _healthy(name: str, timeout: float = 60.0) -> None:
    """No systemd here, so podman never runs health checks by itself: run the image's own
    HEALTHCHECK command as the orchestrator would, until it passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if podman("healthcheck", "run", name, check=False, timeout=30).returncode == 0:
            status = podman("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
            assert status == "healthy"
            return
        time.sleep(0.5)
    pytest.fail(f"{name}: the HEALTHCHECK did not pass within {timeout:.0f} s")


def test_smoke_then_restart_with_the_volume_kept(image: str) -> None:
    port = free_port()
    volume = f"continuum-smoke-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    try:
        args = ("--network=host", "-e", f"CONTINUUM_API_PORT={port}", "-v", f"{volume}:/data", image)
        with container("continuum-smoke", *args) as name:
            _healthy(name)
            with client(f"http://127.0.0.1:{port}") as http:
                written = store_learn_recall_search(http)
            podman("stop", name, timeout=60)
            podman("start", name, timeout=60)
            wait_for(f"http://127.0.0.1:{port}/v1/health")
            _healthy(name)
            with client(f"http://127.0.0.1:{port}") as http:
                check_present(http, written)
        # A new container on the same volume (an upgrade) sees the same data.
        with container("continuum-smoke-2", *args) as name:
            _healthy(name)
            with client(f"http://127.0.0.1:{port}") as http:
                check_present(http, written)
                assert http.get("/v1/stats").json()["memories"] >= 3
    finally:
        podman("volume", "rm", "-f", volume, check=False)


def test_stop_is_quick_and_loses_no_acknowledged_write(image: str) -> None:
    """Four writers store memories as fast as they can; `stop` (SIGTERM) lands in the
    middle. It must finish well inside the default 10 s grace period (no SIGKILL), and
    every write that got its 201 must be there after the next start."""
    port = free_port()
    volume = f"continuum-stop-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop_writers = threading.Event()

    def writer(number: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
            sequence = 0
            while not stop_writers.is_set():
                sequence += 1
                try:
                    response = http.post("/v1/memories", json={"content": f"writer {number} note {sequence}"})
                except httpx.HTTPError:
                    continue  # the server went away: not acknowledged
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(response.json()["id"])

    try:
        args = ("--network=host", "-e", f"CONTINUUM_API_PORT={port}", "-v", f"{volume}:/data", image)
        with container("continuum-stop", *args) as name:
            wait_for(f"http://127.0.0.1:{port}/v1/health")
            threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            while len(acknowledged) < 50:
                time.sleep(0.05)
            started = time.monotonic()
            podman("stop", name, timeout=60)
            took = time.monotonic() - started
            stop_writers.set()
            for thread in threads:
                thread.join()
            exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
            print(f"\nstop took {took:.2f} s with {len(acknowledged)} writes acknowledged; exit code {exit_code}")
            assert took < 5.0, f"stop took {took:.1f} s: SIGTERM was not handled"
            assert exit_code == "0", "the server was killed, not stopped"
            podman("start", name, timeout=60)
            wait_for(f"http://127.0.0.1:{port}/v1/health")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
                missing = [i for i in acknowledged if http.get(f"/v1/memories/{i}").status_code != 200]
        assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged writes lost"
    finally:
        podman("volume", "rm", "-f", volume, check=False)
