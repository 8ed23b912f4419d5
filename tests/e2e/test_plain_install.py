"""The guide's quick start on a plain install: `pip install continuum-memory` (no extras),
`continuum init --db-path ...`, `continuum serve --port ...`, then learn and recall over HTTP.

The package is built from this checkout into a new virtual environment that has nothing
else, so a dependency the server or CLI needs but only an extra brings fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from tests.support.servers import REPO, ServerProcess, clean_env, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plain-install")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO)],
        check=True, env=env, cwd=root, timeout=600,
    )  # fmt: skip
    return root


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = clean_env(extra)
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{root / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_init_then_serve_answers_learn_and_recall(plain_install: Path) -> None:
    continuum = str(plain_install / "venv" / "bin" / "continuum")
    db = plain_install / "data" / "memory.db"
    init = subprocess.run(
        [continuum, "init", "--db-path", str(db)], env=_env(plain_install), cwd=plain_install,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert db.exists()

    port = free_port()
    server = ServerProcess(
        command=[continuum, "serve", "--port", str(port)],
        env=_env(plain_install, CONTINUUM_DB_PATH=str(db)), cwd=plain_install, port=port,
    )  # fmt: skip
    server.start()
    try:
        learned = httpx.post(f"{server.url}/v1/learn", json={
            "user_message": "I decided to build the Orion dashboard with FastAPI.",
            "ai_response": "Orion will also want Redis for caching.",
        }, timeout=10)  # fmt: skip
        assert learned.status_code == 200, learned.text
        recalled = httpx.post(f"{server.url}/v1/recall", json={"message": "What is Orion built with?"}, timeout=10)
        assert recalled.status_code == 200, recalled.text
        assert "FastAPI" in recalled.json()["context"]
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 200
        # the console's built files are package data: served with no Node and nothing else installed
        page = httpx.get(f"{server.url}/console", timeout=10)
        assert page.status_code == 200 and "/console/assets/" in page.text
        script = page.text.split('src="', 1)[1].split('"', 1)[0]
        assert httpx.get(f"{server.url}{script}", timeout=10).status_code == 200
    finally:
        server.stop()


def test_a_missing_extra_is_named_in_one_line(plain_install: Path) -> None:
    continuum = str(plain_install / "venv" / "bin" / "continuum")
    result = subprocess.run(
        [continuum, "init", "--use-postgres"],
        env=_env(plain_install, POSTGRES_URL="postgresql://postgres@127.0.0.1:5432/postgres"),
        cwd=plain_install, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "continuum-memory[postgres]" in lines[0]
    assert "Traceback" not in result.stderr
    assert sys.executable  # the test process itself is untouched by the plain install
