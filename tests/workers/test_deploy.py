"""`wrangler deploy --dry-run` packages the Worker offline; its size fits Cloudflare's limits.

Limits (developers.cloudflare.com/workers/platform/limits, "Worker size"): 3 MB after
gzip on the Workers Free plan, 10 MB on Paid, and 64 MB before compression on both.
The check uses the strictest, the Free plan's compressed 3 MiB, as wrangler reports it.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support.workers_env import NODE_MODULES, PYTHON_MODULES, WRANGLER_DIR, node_binary, require_tooling

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop

FREE_PLAN_GZIP_BYTES = 3 * 1024 * 1024
PAID_PLAN_GZIP_BYTES = 10 * 1024 * 1024
UNCOMPRESSED_BYTES = 64 * 1024 * 1024


def test_dry_run_packages_the_worker_within_the_size_limit(tmp_path):
    require_tooling()
    subprocess.run([str(WRANGLER_DIR / "vendor")], check=True, timeout=600)
    require_tooling(python_modules=True)
    node = node_binary()
    env = {**os.environ, "PATH": f"{os.path.dirname(node)}:{os.environ['PATH']}", "WRANGLER_SEND_METRICS": "false",
           "CI": "true"}  # fmt: skip
    outdir = tmp_path / "dist"
    done = subprocess.run(
        [node, str(NODE_MODULES / "wrangler" / "bin" / "wrangler.js"), "deploy", "--dry-run", "--outdir", str(outdir)],
        cwd=WRANGLER_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    match = re.search(r"Total Upload: ([\d.]+) KiB / gzip: ([\d.]+) KiB", output)
    assert match, output[-3000:]
    total, gzipped = (float(v) * 1024 for v in match.groups())
    print(
        f"\nWorker bundle: {total / 2**20:.2f} MiB, gzip {gzipped / 2**20:.2f} MiB "
        f"(limits: gzip 3 MiB Free / 10 MiB Paid, 64 MiB uncompressed)"
    )
    assert gzipped <= FREE_PLAN_GZIP_BYTES, f"gzip {gzipped / 2**20:.2f} MiB is over the Free plan's 3 MiB"
    assert total <= UNCOMPRESSED_BYTES
    for binding in ("env.DB", "env.AI", "env.CONTINUUM_STORAGE"):
        assert binding in output, binding
    # What the runtime needs is in the upload: the entry, the core, the Pyodide wheel.
    assert (outdir / "worker.py").is_file()
    assert (outdir / "python_modules" / "continuum" / "workers" / "app.py").is_file()
    assert list((outdir / "python_modules" / "pydantic_core").glob("*wasm32-emscripten.so"))
    assert not (outdir / "python_modules" / "uvicorn").exists()
    assert (PYTHON_MODULES / "continuum" / "storage" / "d1" / "store.py").is_file()
