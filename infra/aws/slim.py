"""Slim the Lambda dependencies directory before it is zipped (run by the packaging plugin
with the Lambda Python, 3.12, so the bytecode matches the runtime).

Lambda's file system is read-only: bytecode that is not in the zip is compiled again at
every cold start (seconds for FastAPI and pydantic). So every module, the core's too, is
kept as compiled bytecode only (`module.pyc` beside where `module.py` was), which is
smaller than source plus `__pycache__`; tracebacks still name the file and line (as
/var/task/<package>/<module>.py, where the code runs), without the source line. Removed:
what no handler imports (pydantic.v1, which FastAPI only probes for; pydantic's mypy
plugin; anyio's trio backend and pytest plugin; Starlette's test client; httpx's command
line; certifi's tests; Powertools' event handler, its event data classes and unused
utilities; the local server's
uvicorn, click and prometheus_client, which the base install brings; the MCP SDK, which
only `continuum mcp` runs, and cryptography, which it brings, unless the `encryption`
extra is packed; the core's modules that only the Worker, the CLI or the local server
run), type stubs, scripts,
and dist-info files except METADATA's headers and entry points (read by importlib.metadata;
the long description after the headers is the package's README or changelog, 144 KB for
pydantic).
"""

from __future__ import annotations

import compileall
import shutil
import sys
from pathlib import Path

TASK_ROOT = "/var/task"  # where Lambda unpacks the zip: the paths tracebacks show
# The local server's and command line's packages (in the base install) no handler imports.
SERVER_ONLY = ("uvicorn", "click", "h11", "prometheus_client", "websockets")  # websockets: uvicorn's /v1/sync
# The MCP SDK and what only it needs: `continuum mcp` (stdio) runs it; the `mcp` function
# serves /mcp with continuum.mcp.protocol, which imports none of it.
MCP_SDK = ("mcp", "mcp_types", "sse_starlette", "httpx2", "httpcore2", "truststore", "jsonschema",
           "jsonschema_specifications", "referencing", "rpds", "attr", "attrs", "python_multipart",
           "multipart")  # fmt: skip
# The SDK's pyjwt[crypto] brings cryptography (5 MB zipped); the core needs it only for
# CONTINUUM_ENCRYPTION_KEY, so it stays only when the `encryption` extra was asked for.
CRYPTOGRAPHY = ("cryptography", "cffi", "pycparser")
# Parts of the core that only other runtimes run: the Worker, D1 (a Worker binding), the
# command line and the local server's entry; the SDK and the framework integrations, which
# run in the caller's process.
OTHER_RUNTIMES = (
    "continuum/workers", "continuum/storage/d1", "continuum/cli", "continuum/server.py", "continuum/doctor.py",
    "continuum/client", "continuum/integrations", "continuum/mcp/stdio.py",
    # a Workers AI binding; torch-sized local models; Prometheus (its client is removed above)
    # and its scrape route (no Lambda function serves it); one process's Idempotency-Key file
    "continuum/embeddings/workers_ai.py", "continuum/embeddings/local.py", "continuum/observability/metrics.py",
    "continuum/api/routers/metrics.py", "continuum/cache/sqlite_file.py",
    "continuum/runtime/webhooks.py",  # the local server's webhook dispatcher task (Lambda: aws/dispatch.py)
    # the web console's static files and route: the local server serves it (docs/console.md)
    "continuum/console", "continuum/api/routers/console.py",
    # the real-time sync buses: Lambda serves no subscribers (GET /v1/sync answers 501 there)
    "continuum/bus",
)  # fmt: skip
REMOVE = (
    "bin",
    *SERVER_ONLY,
    *MCP_SDK,
    *OTHER_RUNTIMES,
    "pydantic/v1",
    "pydantic/mypy.py",  # the mypy plugin: type checking, never run
    "anyio/_backends/_trio.py",  # the trio backend: Lambda runs asyncio
    "anyio/pytest_plugin.py",
    "starlette/testclient.py",
    "httpx/_main.py",  # the `httpx` command (needs click and rich, which are not packed)
    "certifi/tests",
    "aws_lambda_powertools/event_handler",
    "aws_lambda_powertools/utilities/data_classes",  # typed events: only its removed utilities use them
    *(f"aws_lambda_powertools/utilities/{name}" for name in (
        "batch", "data_masking", "feature_flags", "idempotency", "kafka", "streaming", "validation",
        "circuit_breaker", "auth_alpha", "parser",
    )),
)  # fmt: skip
KEEP_DIST_INFO = ("METADATA", "entry_points.txt")


def requested_extras(root: Path) -> set[str] | None:
    """The extras in the requirements file the packaging plugin wrote beside `root`
    (`<wheel>[lambda,postgres,...]`); None when there is none to read."""
    requirements = root.parent / "requirements-lambda.txt"
    if not requirements.is_file():
        return None
    line = requirements.read_text().strip()
    return set(line[line.index("[") + 1 : line.rindex("]")].split(",")) if "[" in line else set()


def slim(root: Path) -> None:
    extras = requested_extras(root)
    if extras is not None and "encryption" not in extras:
        for name in CRYPTOGRAPHY:
            shutil.rmtree(root / name, ignore_errors=True)
            for info in root.glob(f"{name}-*.dist-info"):
                shutil.rmtree(info)
        for backend in root.glob("_cffi_backend.*"):
            backend.unlink()
    for relative in REMOVE:
        target = root / relative
        if target.is_file():
            target.unlink()
            # and its bytecode, compiled when the package was installed
            for compiled in target.parent.glob(f"__pycache__/{target.stem}.*.pyc"):
                compiled.unlink()
        else:
            shutil.rmtree(target, ignore_errors=True)
    for name in (*SERVER_ONLY, *MCP_SDK, "rpds_py"):
        for info in root.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info)
    for info in root.glob("*.dist-info"):
        for item in info.iterdir():
            if item.name not in KEEP_DIST_INFO:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        metadata = info / "METADATA"
        if metadata.is_file():
            headers, blank, _description = metadata.read_text(encoding="utf-8").partition("\n\n")
            if blank:
                metadata.write_text(headers + "\n", encoding="utf-8")
    for pattern in ("**/*.pyi", "**/py.typed"):
        for path in root.glob(pattern):
            path.unlink()
    for top in root.iterdir():
        if top.name.endswith(".dist-info"):
            continue
        for cache in [top] if top.name == "__pycache__" else top.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        # Sourceless bytecode is never checked against a source (the zip resets file times).
        if top.is_dir():
            if not compileall.compile_dir(top, ddir=f"{TASK_ROOT}/{top.name}", quiet=1, legacy=True, optimize=0):
                raise SystemExit(f"slim: compiling {top} failed")
            for source in top.rglob("*.py"):
                source.unlink()
        elif top.suffix == ".py":
            if not compileall.compile_file(top, ddir=TASK_ROOT, quiet=1, legacy=True):
                raise SystemExit(f"slim: compiling {top} failed")
            top.unlink()


if __name__ == "__main__":
    if sys.version_info[:2] != (3, 12):
        raise SystemExit(f"slim: run with Python 3.12 (the Lambda runtime), not {sys.version.split()[0]}")
    slim(Path(sys.argv[1]))
