"""The console's committed build (shared/continuum/console/static) is what its source builds:
rebuilt from console/ with the locked npm packages, every file is byte for byte the same."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.servers import REPO

pytestmark = pytest.mark.slow  # a browser and a server, or an npm build: tens of seconds
STATIC = REPO / "shared" / "continuum" / "console" / "static"


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_committed_console_build_matches_its_source(tmp_path):
    npm = shutil.which("npm")
    assert npm, "npm is needed to rebuild the console"
    out = tmp_path / "static"
    built = subprocess.run(
        [npm, "run", "build"], cwd=REPO / "console", env={**os.environ, "CONSOLE_OUT_DIR": str(out)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    fresh, committed = files(out), files(STATIC)
    assert sorted(fresh) == sorted(committed), "rebuild the console: `cd console && npm run build`, then commit"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"the committed build differs from the source in {changed}: run `cd console && npm run build`"
