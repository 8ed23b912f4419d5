"""The Compose stack (api + postgres + redis + nginx with TLS) really comes up, in dependency
order, serves the smoke through nginx over TLS, scales to three API replicas that read their
own and each other's writes, and is torn down; plus nginx -t and the Compose specification."""

from __future__ import annotations

import secrets
import socket
import ssl
import subprocess
import time
import warnings
from pathlib import Path

import httpx
import pytest

from tests.deploy.smoke import check_present, client, store_learn_recall_search
from tests.deploy.stack import ComposeStack, build_stand_ins, self_signed, started_at
from tests.deploy.tools import BASE_IMAGE, COMPOSE_BIN, REPO, free_port, run, tool, wait_for

NGINX_CONF = REPO / "infra" / "docker" / "nginx" / "nginx.conf"


def _interpolated(tmp_path: Path) -> str:
    """`docker compose config`: the file with .env.example's values, as an engine reads it."""
    done = run([str(COMPOSE_BIN), "--env-file", str(REPO / ".env.example"), "-f", str(REPO / "docker-compose.yml"),
                "config"], cwd=tmp_path)  # fmt: skip
    return done.stdout


def test_the_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    python = str(Path(tool("yamllint")).parent / "python")
    check = (
        "import sys, compose_spec\n"
        "spec = compose_spec.PyCompose.from_yaml(sys.stdin.read())\n"
        "print(' '.join(sorted(spec.service_names())))\n"
    )
    done = subprocess.run(
        [python, "-c", check], input=_interpolated(tmp_path), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["api", "nginx", "postgres", "redis"]
    # The validator is strict: a misspelt key or condition is an error naming its line.
    misspelt = "services:\n  api:\n    image: x\n    depends_on:\n      db:\n        condition: healthy\n"
    bad = subprocess.run([python, "-c", check], input=misspelt, capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "condition" in bad.stderr and "line 6" in bad.stderr


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    run([str(COMPOSE_BIN), "--env-file", str(REPO / ".env.example"), "-f", str(REPO / "docker-compose.yml"),
         "config", "-q"], cwd=tmp_path)  # fmt: skip


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    done = run([str(COMPOSE_BIN), "--env-file", str(tmp_path / "empty.env"), "-f", str(REPO / "docker-compose.yml"),
                "config", "-q"], cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in .env" in done.stderr


def test_nginx_accepts_its_configuration(tmp_path: Path) -> None:
    """`nginx -t` on the host: the same file with the certificate paths and the upstream's
    name pointed at this machine (inside the stack, nginx -t runs on the file as it is)."""
    self_signed(tmp_path / "certs")
    conf = NGINX_CONF.read_text().replace("/etc/nginx/certs/", f"{tmp_path}/certs/").replace(
        "server api:8420", "server 127.0.0.1:8420"
    ).replace("/var/log/nginx/access.log", f"{tmp_path}/access.log")  # fmt: skip
    (tmp_path / "nginx.conf").write_text(f"error_log {tmp_path}/error.log;\npid {tmp_path}/nginx.pid;\n" + conf)
    done = run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], check=False)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr and "test is successful" in done.stderr


def _tls_version_refused(port: int, version: ssl.TLSVersion) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point of the check
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw):
            return False
    except (ssl.SSLError, OSError):
        return True


def _negotiated_protocol(port: int) -> str | None:
    """What ALPN picks when a client offers HTTP/2 and HTTP/1.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return tls.selected_alpn_protocol()


@pytest.mark.slow
def test_the_stack_comes_up_in_order_serves_tls_scales_and_tears_down(image: str, tmp_path: Path) -> None:
    stand_ins = build_stand_ins(BASE_IMAGE)
    ca = self_signed(tmp_path / "certs")
    https_port, http_port = free_port(), free_port()
    admin = secrets.token_hex(16)
    env = {
        "POSTGRES_PASSWORD": secrets.token_hex(12), "REDIS_PASSWORD": secrets.token_hex(12),
        "CONTINUUM_API_KEY": admin, "CONTINUUM_REQUIRE_API_KEY": "true", "CONTINUUM_ENV": "production",
        "HTTPS_PORT": str(https_port), "HTTP_PORT": str(http_port), "TLS_CERT_DIR": str(tmp_path / "certs"),
        "CONTINUUM_IMAGE": image, "POSTGRES_IMAGE": stand_ins["postgres"], "REDIS_IMAGE": stand_ins["redis"],
        "NGINX_IMAGE": stand_ins["nginx"],
    }  # fmt: skip
    base = f"https://localhost:{https_port}"
    tls = ssl.create_default_context(cafile=str(ca))
    with ComposeStack(tmp_path, env) as stack:
        started = time.monotonic()
        stack.compose("up", "-d", "--no-build")
        print(f"\ncompose up: {time.monotonic() - started:.1f} s")
        # Dependency order: the databases were healthy before the API started, the API before nginx.
        ids = {s: stack.container_ids(s) for s in ("postgres", "redis", "api", "nginx")}
        assert all(len(v) == 1 for v in ids.values()), ids
        assert started_at(ids["postgres"]) < started_at(ids["api"])
        assert started_at(ids["redis"]) < started_at(ids["api"])
        assert started_at(ids["api"]) < started_at(ids["nginx"])
        assert stack.compose("exec", "-T", "nginx", "nginx", "-t").returncode == 0
        aof = stack.compose("exec", "-T", "redis", "sh", "-c",
                            'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli config get appendonly')  # fmt: skip
        assert aof.stdout.split() == ["appendonly", "yes"]

        health = wait_for(f"{base}/v1/health", verify=tls)
        assert health.json()["status"] == "ok"
        with httpx.Client(verify=tls) as plain:
            redirect = plain.get(f"http://localhost:{http_port}/v1/health")
            assert redirect.status_code == 301 and redirect.headers["location"].startswith("https://")
            assert plain.get(f"{base}/metrics", headers={"X-API-Key": admin}).status_code == 404
        assert _tls_version_refused(https_port, ssl.TLSVersion.TLSv1_1)
        assert not _tls_version_refused(https_port, ssl.TLSVersion.TLSv1_2)
        assert not _tls_version_refused(https_port, ssl.TLSVersion.TLSv1_3)
        assert _negotiated_protocol(https_port) == "h2"

        with client(base, api_key=admin, verify=tls) as http:
            created = http.post("/v1/keys", json={"tenant_id": "acme"})
            assert created.status_code == 201, created.text
            tenant_key = created.json()["api_key"]
        with client(base, api_key=tenant_key, verify=tls) as http:
            written = store_learn_recall_search(http)

        # Three replicas behind nginx, one coherent cache.
        stack.compose("up", "-d", "--no-build", "--scale", "api=3")
        api_ids = stack.wait_healthy("api", 3)
        # nginx resolves "api" when it reloads; podman's DNS may name the new replicas a moment
        # after they report healthy ("host not found in upstream"), so the reload is retried
        for _ in range(30):
            if stack.compose("exec", "-T", "nginx", "nginx", "-s", "reload", check=False).returncode == 0:
                break
            time.sleep(1)
        else:
            stack.compose("exec", "-T", "nginx", "nginx", "-s", "reload")
        replicas = [f"http://{stack.ip_of(cid)}:8420" for cid in api_ids]
        _read_your_writes(replicas, tenant_key)
        _nginx_spreads_requests(base, tls, tenant_key, replicas, admin)
        with client(base, api_key=tenant_key, verify=tls) as http:
            check_present(http, written)

        stack.compose("down", "-v", "--timeout", "10")
        assert stack.container_ids() == []


def _read_your_writes(replicas: list[str], key: str) -> None:
    """Each replica has the same search and recall cached; a write on one must be in the
    next answer of every other (the shared Redis generation is bumped before the ack)."""
    clients = [client(url, api_key=key) for url in replicas]
    try:
        marker = f"quasar{secrets.token_hex(4)}"
        query = {"query": f"{marker} deployment notes", "limit": 10}
        for http in clients:  # prime every replica's cache with the empty answer, twice
            for _ in range(2):
                assert http.post("/v1/search", json=query).json()["results"] == []
        for round_number, writer in enumerate(clients):
            stored = writer.post("/v1/memories", json={"content": f"{marker} deployment notes round {round_number}"})
            assert stored.status_code == 201, stored.text
            memory_id = stored.json()["id"]
            for reader in clients:
                seen = [r["id"] for r in reader.post("/v1/search", json=query).json()["results"]]
                assert memory_id in seen, f"{reader.base_url} missed a write acknowledged by {writer.base_url}"
        # A delete on one replica is gone from every replica's next answer.
        victim = clients[0].post("/v1/search", json=query).json()["results"][0]["id"]
        assert clients[1].delete(f"/v1/memories/{victim}").status_code == 204
        for reader in clients:
            assert victim not in [r["id"] for r in reader.post("/v1/search", json=query).json()["results"]]
            assert reader.get(f"/v1/memories/{victim}").status_code == 404
    finally:
        for http in clients:
            http.close()


def _stats_requests(url: str, admin: str) -> float:
    text = httpx.get(f"{url}/metrics", headers={"X-API-Key": admin}, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("continuum_requests_total{") and 'endpoint="/v1/stats"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _nginx_spreads_requests(base: str, ca: ssl.SSLContext, key: str, replicas: list[str], admin: str) -> None:
    before = [_stats_requests(url, admin) for url in replicas]
    with client(base, api_key=key, verify=ca) as http:
        for _ in range(30):
            assert http.get("/v1/stats").status_code == 200
    after = [_stats_requests(url, admin) for url in replicas]
    served = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(served) == 30 and all(n > 0 for n in served), f"requests per replica: {served}"
